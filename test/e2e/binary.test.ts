// ./splashtail copied alone into an empty folder runs every subcommand with only Node present, and
// each process loads only its own service's code (SPLASHTAIL_TRACE_PIECES lists the pieces of the
// executable a process evaluates; splashtail.pieces.json, written by the build, what each holds).
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { waitForStatus } from '../helpers/http-status';
import { freePort } from '../helpers/ports';
import { BIN, ROOT, runSync, start } from '../helpers/process';
import { createTestDatabase, uniqueName } from '../helpers/services';

const SUBCOMMANDS = ['webserver', 'jobs', 'bot', 'proxy', 'mirror', 'sim', 'dev'];

/** Source files (as esbuild names them) no process of a subcommand may load: other services' code and libraries. */
const FORBIDDEN: Record<string, RegExp[]> = {
  sim: [/^(proxy|jobs|webserver|bot)\//, /node_modules\/(discord\.js|@aws-sdk|@fastify\/swagger|pg|amqplib)\//],
  proxy: [/^(internal\/sim|jobs|webserver|bot)\//, /node_modules\/(discord\.js|@aws-sdk|@fastify\/swagger|pg)\//],
  jobs: [/^(internal\/sim|proxy|webserver|bot)\//, /node_modules\/(discord\.js|@aws-sdk|amqplib)\//],
  mirror: [/^(internal\/sim|proxy|jobs|webserver|bot)\//, /node_modules\/(discord\.js|@aws-sdk|@fastify\/swagger)\//],
  // the API keeps tokens and settings in Postgres and builds its OpenAPI document from its routes
  webserver: [/^(internal\/sim|proxy|jobs)\//, /node_modules\/(discord\.js|@aws-sdk|amqplib)\//],
  // bot clusters (started by the webserver's clusterer); they keep guild settings and cases in Postgres
  bot: [/^(internal\/sim|proxy|jobs|webserver)\//, /node_modules\/(@aws-sdk|@fastify\/swagger|amqplib)\//],
  // dev starts the others, and declares and removes its instance's queues and keys
  dev: [/^(internal\/(sim|gateway|ipc|db)|proxy|jobs|webserver|bot)\//, /node_modules\/(discord\.js|@discordjs|@aws-sdk|fastify|@fastify|pg)\//],
};

/** The clusterer alone (`bot` without --cluster) runs no client: no discord.js, no cluster code. */
const CLUSTERER_FORBIDDEN = [/^(internal\/sim|proxy|jobs|webserver)\//, /^bot\/(cluster|client)\.ts$/, /node_modules\/(discord\.js|@aws-sdk|@fastify\/swagger|pg|amqplib)\//];

/** The source files each piece of the executable holds, normalised to repo paths and `node_modules/...`. */
function pieceContents(): Map<string, string[]> {
  const json = JSON.parse(readFileSync(join(ROOT, 'splashtail.pieces.json'), 'utf8')) as Record<string, string[]>;
  return new Map(Object.entries(json).map(([piece, inputs]) => [piece, inputs.map((i) => i.replace(/^.*?(node_modules\/)/, '$1'))]));
}

/** Piece names per subcommand, from the `splashtail <subcommand>[pid]: piece <name>` trace lines. */
function tracedPieces(output: string): Map<string, Set<string>> {
  const bySubcommand = new Map<string, Set<string>>();
  for (const [, sub, piece] of output.matchAll(/splashtail (\S*)\[\d+\]: piece (\S+)/g)) {
    if (!bySubcommand.has(sub!)) bySubcommand.set(sub!, new Set());
    bySubcommand.get(sub!)!.add(piece!);
  }
  return bySubcommand;
}

describe('./splashtail copied alone into an empty folder', () => {
  let dir: string;
  let bin: string;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runSync(args, { bin, cwd: dir, env });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'st-binary-'));
    bin = join(dir, 'splashtail');
    copyFileSync(BIN, bin);
    // Node's resolution from there must not reach the repo's (or any) node_modules.
    assert.throws(() => createRequire(join(dir, 'x.js')).resolve('commander'), /Cannot find module/);
  });

  it('answers --version (package.json), --help and each subcommand --help, loading only the entry', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run(['--version']).stdout.trim(), pkg.version);
    const help = run(['--help'], { SPLASHTAIL_TRACE_PIECES: '1' });
    assert.equal(help.code, 0, help.stderr);
    for (const name of SUBCOMMANDS) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const entry = [...tracedPieces(help.stderr).values()].flatMap((s) => [...s]);
    const contents = pieceContents();
    const sources = entry.flatMap((p) => contents.get(p) ?? []);
    assert.deepEqual(sources.filter((s) => !/^(cmd\/|package\.json$|node_modules\/commander\/)/.test(s)), [], `--help loads pieces ${entry.join(', ')}`);
    for (const name of SUBCOMMANDS) {
      const { code, stdout, stderr } = run([name, '--help']);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`^Usage: splashtail ${name} `, 'm'));
    }
  });

  it('--help has Node read the head of the executable only, not the pieces after it', () => {
    // rchar: the bytes this process read, whatever read them (Node reading a script it runs, too).
    const probe = join(dir, 'read-bytes.cjs');
    writeFileSync(probe, `process.on('exit', () => process.stderr.write('read ' + /rchar: (\\d+)/.exec(require('fs').readFileSync('/proc/self/io', 'utf8'))[1] + '\\n'));\n`);
    const { code, stderr } = run(['--help'], { NODE_OPTIONS: `--require ${probe}` });
    assert.equal(code, 0, stderr);
    const read = Number(/^read (\d+)$/m.exec(stderr)![1]);
    const size = statSync(bin).size;
    assert.ok(read < size / 8, `--help read ${read} bytes of a ${size}-byte executable`);
  });

  describe('the whole stack from the copy (dev: sim, proxy, jobs, webserver and its bot clusters)', () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let output = () => '';
    let jobsUrl = '';
    let apiUrl = '';
    let simApi = '';
    let stop: () => Promise<number | null>;

    before(async () => {
      db = await createTestDatabase();
      const [sim, proxy, api, jobs, iserver] = [await freePort(), await freePort(), await freePort(), await freePort(), 20_000 + Math.floor(Math.random() * 20_000)];
      const mirror = await freePort();
      jobsUrl = `http://127.0.0.1:${jobs}`;
      simApi = `http://127.0.0.1:${sim}/api`;
      apiUrl = `http://127.0.0.1:${api}`;
      const { path } = writeTestConfig({
        'sim.port': sim, 'sim.max_concurrency': 4, 'sim.identify_interval_ms': 0,
        'proxy.port': proxy, 'proxy.session_key_prefix': `${uniqueName('st_bin')}:`, 'mirror.port': mirror,
        'meta.port': api, 'meta.jobserver_port': jobs, 'meta.jobserver_url': jobsUrl, 'meta.bot_iserver_base_port': iserver,
        'meta.postgres_url': db.url,
        'clusterer.redis_channel': uniqueName('st_bin'), 'clusterer.cluster_start_next_delay': 100,
      });
      copyFileSync(path, join(dir, 'config.yaml'));
      const dev = start(['dev'], { bin, cwd: dir, env: { SPLASHTAIL_TRACE_PIECES: '1' } });
      stop = () => dev.stop('SIGTERM');
      try {
        await dev.waitFor(/^dev: all services up/, 120_000);
        const deadline = Date.now() + 60_000;
        let clusters: { state: string }[] = [];
        while (Date.now() < deadline) {
          clusters = ((await (await fetch(`${apiUrl}/clusters`)).json()) as { clusters: { state: string }[] }).clusters;
          if (clusters.length > 0 && clusters.every((c) => c.state === 'up')) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.ok(clusters.length > 0 && clusters.every((c) => c.state === 'up'), JSON.stringify(clusters));
        output = () => dev.output();
      } catch (err) {
        await stop();
        throw err;
      }
    });

    after(async () => {
      const code = await stop?.();
      await db?.drop();
      assert.equal(code, 0, 'dev stops cleanly on SIGTERM');
    });

    it('a process goes on loading its pieces from the file it started from after another is renamed over it', async () => {
      const kept = `${bin}.kept`;
      copyFileSync(bin, kept);
      writeFileSync(`${bin}.new`, '#!/usr/bin/env node\nthrow new Error("not the executable the processes started from");\n');
      renameSync(`${bin}.new`, bin);
      try {
        // The jobs process has not loaded this file of the docs UI yet: it is read now.
        const res = await fetch(`${jobsUrl}/docs/static/swagger-ui.css`);
        assert.equal(res.status, 200);
        const expected = readFileSync(join(ROOT, 'node_modules/@fastify/swagger-ui/static/swagger-ui.css'));
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(expected));
      } finally {
        renameSync(kept, bin);
      }
    });

    it('a piece first needed after the file was rewritten in place is refused, with a message saying so', async () => {
      const copy = join(dir, 'splashtail-rewritten');
      copyFileSync(bin, copy);
      const port = await freePort();
      const { path } = writeTestConfig({ 'meta.jobserver_port': port, 'meta.postgres_url': db.url });
      copyFileSync(path, join(dir, 'rewritten.yaml'));
      const jobs = start(['jobs', '--config', 'rewritten.yaml'], { bin: copy, cwd: dir });
      try {
        assert.equal(await waitForStatus(`http://127.0.0.1:${port}/healthz`, 200, 60_000), 200, jobs.output().slice(-2000));
        appendFileSync(copy, '\n');
        // A file of the docs UI: a piece this process has not loaded yet.
        assert.equal((await fetch(`http://127.0.0.1:${port}/docs/static/favicon-32x32.png`)).status, 500);
        // The error is logged as the 500 goes out: wait for the line to come through the pipe.
        await jobs.waitFor(/splashtail-rewritten was rewritten while this process ran \(piece [^)]+\); restart it/, 10_000);
      } finally {
        await jobs.stop('SIGTERM');
      }
    });

    it('serves the docs UI and its files from inside the executable', async () => {
      const page = await fetch(`${jobsUrl}/docs/static/index.html`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /swagger-ui/);
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png']) {
        const res = await fetch(`${jobsUrl}/docs/static/${file}`);
        assert.equal(res.status, 200, file);
        const expected = readFileSync(join(ROOT, 'node_modules/@fastify/swagger-ui/static', file));
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(expected), `${file} is served byte for byte`);
      }
      assert.equal((await fetch(`${jobsUrl}/docs/static/nope.js`)).status, 404);
      assert.equal((await fetch(`${jobsUrl}/docs/json`)).status, 200);
      assert.equal((await fetch(`${apiUrl}/healthz`)).status, 200);
    });

    it('jobs with S3 storage loads the AWS SDK from inside the executable (and only then: see below)', async () => {
      const port = await freePort();
      const { path } = writeTestConfig({
        'meta.jobserver_port': port, 'meta.postgres_url': db.url, 'object_storage.type': 's3', 'object_storage.endpoint': 'http://127.0.0.1:9',
        'object_storage.bucket': 'b', 'object_storage.access_key': 'k', 'object_storage.secret_key': 'secretsecretsecret',
      });
      copyFileSync(path, join(dir, 's3.yaml'));
      const jobs = start(['jobs', '--config', 's3.yaml'], { bin, cwd: dir, env: { SPLASHTAIL_TRACE_PIECES: '1' } });
      try {
        assert.equal(await waitForStatus(`http://127.0.0.1:${port}/healthz`, 200, 60_000), 200, jobs.output().slice(-2000));
      } finally {
        assert.equal(await jobs.stop('SIGTERM'), 0, jobs.output().slice(-2000));
      }
      const contents = pieceContents();
      const pieces = [...(tracedPieces(jobs.output()).get('jobs') ?? [])];
      assert.ok(pieces.some((p) => contents.get(p)?.some((s) => s.startsWith('node_modules/@aws-sdk/client-s3/'))), 'the S3 client piece was loaded');
    });

    it('bot without --cluster (the clusterer alone) starts its clusters, runs no discord.js itself, stops on SIGTERM', async () => {
      const base = 20_000 + Math.floor(Math.random() * 20_000);
      const { path } = writeTestConfig({
        'discord_auth.api_url': simApi, 'meta.bot_iserver_base_port': base,
        'clusterer.redis_channel': uniqueName('st_bin'), 'clusterer.cluster_start_next_delay': 100,
      });
      copyFileSync(path, join(dir, 'clusterer.yaml'));
      const clusterer = start(['bot', '--config', 'clusterer.yaml'], { bin, cwd: dir, env: { SPLASHTAIL_TRACE_PIECES: '1' } });
      try {
        // A cluster's IServer answers (401 without its secret) once that cluster process runs.
        assert.equal(await waitForStatus(`http://127.0.0.1:${base}/info`, 401, 60_000), 401, clusterer.output().slice(-2000));
      } finally {
        assert.equal(await clusterer.stop('SIGTERM'), 0, clusterer.output().slice(-2000));
      }
      const own = new RegExp(`splashtail bot\\[${clusterer.child.pid}\\]: piece (\\S+)`, 'g');
      const contents = pieceContents();
      const sources = [...clusterer.output().matchAll(own)].flatMap((m) => contents.get(m[1]!) ?? []);
      assert.ok(sources.length > 0, 'the clusterer traced its pieces');
      assert.deepEqual(sources.filter((s) => CLUSTERER_FORBIDDEN.some((re) => re.test(s))), [], 'the clusterer loads no client');
    });

    it("each process loads only its own service's code and libraries", () => {
      const contents = pieceContents();
      const traced = tracedPieces(output());
      assert.deepEqual([...traced.keys()].sort(), [...Object.keys(FORBIDDEN)].sort(), 'every subcommand traced its pieces');
      for (const [sub, pieces] of traced) {
        const sources = [...pieces].flatMap((p) => contents.get(p) ?? []);
        const foreign = sources.filter((s) => FORBIDDEN[sub]!.some((re) => re.test(s)));
        assert.deepEqual(foreign.slice(0, 20), [], `${sub} loads another service's modules`);
      }
    });
  });
});
