// What each process of the stack costs: start time and RSS of `--help`, idle RSS of each service,
// each beside a script that only requires the libraries that process loads (measured in the same
// run; the libraries are read from the pieces the process evaluated, SPLASHTAIL_TRACE_PIECES).
// BENCH_BIN=<path> measures another build of ./splashtail (e.g. an older one, for a before/after),
// with the splashtail.pieces.json written beside it by the same build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../test/helpers/process';
import { waitForStatus } from '../test/helpers/http-status';
import { createTestDatabase } from '../test/helpers/services';
import { ClusterManager } from 'discord-hybrid-sharding';
import { DEFAULT_TOKEN } from '../internal/sim/world';
import { dropKeys, freePort, report, type Running, rssMiB, sleep, start, uniqueName, waitProxyReady, writeTestConfig } from './lib';

const BIN = process.env.BENCH_BIN ?? join(ROOT, 'splashtail');
const DEPENDENCIES = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
const PIECES = JSON.parse(readFileSync(join(dirname(BIN), 'splashtail.pieces.json'), 'utf8')) as Record<string, string[]>;
/** How long each service is left idle before and while its RSS is read. */
const SETTLE_MS = 60_000;
const RUNS = 10;
/** Preloaded (--require): reports its process's peak RSS (VmHWM) and CPU time on stderr as it exits. */
const PEAK_RSS = join(mkdtempSync(join(tmpdir(), 'st-bench-')), 'peak-rss.cjs');
writeFileSync(
  PEAK_RSS,
  `process.on('exit', () => { const cpu = process.cpuUsage(); process.stderr.write('peak-rss ' + /VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1] + ' cpu ' + (cpu.user + cpu.system) + '\\n'); });\n`,
);

interface ShortRun {
  seconds: number;
  cpuSeconds: number;
  peakMiB: number;
}

/**
 * Median wall time, CPU time and peak RSS of short commands over RUNS runs each, taken in turn
 * (so that a change of load on the machine falls on all of them alike). CPU time is the steadier
 * figure on a busy machine.
 */
function shortRuns(commands: [string, string[]][]): ShortRun[] {
  const samples = commands.map(() => ({ seconds: [] as number[], cpu: [] as number[], peak: [] as number[] }));
  for (let i = 0; i < RUNS; i++) {
    commands.forEach(([command, args], c) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${PEAK_RSS}` } });
      samples[c]!.seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.stderr}`);
      const [, peak, cpu] = /peak-rss (\d+) cpu (\d+)/.exec(r.stderr)!;
      samples[c]!.peak.push(Number(peak) / 1024);
      samples[c]!.cpu.push(Number(cpu) / 1e6);
    });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return samples.map((s) => ({ seconds: median(s.seconds), cpuSeconds: median(s.cpu), peakMiB: median(s.peak) }));
}

const short = (r: ShortRun) => `${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${r.peakMiB.toFixed(0)} MiB`;

/** The package.json dependencies among the source files of the pieces a process traced (none: an older build). */
function librariesOf(output: string, pid: number): string[] | undefined {
  const pieces = [...output.matchAll(new RegExp(`\\[${pid}\\]: piece (\\S+)`, 'g'))].map((m) => m[1]!);
  if (pieces.length === 0) return undefined;
  const packages = new Set(pieces.flatMap((p) => PIECES[p] ?? []).map((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1]));
  return DEPENDENCIES.filter((d) => packages.has(d));
}

/** Packages without a main entry: the entry our code imports. */
const ENTRY: Record<string, string> = { 'discord-api-types': 'discord-api-types/v10' };

/** A script that only requires these libraries, once it has. */
async function librariesAlone(libraries: string[]): Promise<Running> {
  const code = `for (const l of ${JSON.stringify(libraries.map((l) => ENTRY[l] ?? l))}) require(l); console.log('LOADED'); setInterval(() => {}, 1e6);`;
  const script = start(['-e', code], { bin: process.execPath, cwd: ROOT });
  await script.waitFor(/^LOADED$/, 60_000);
  return script;
}

async function waitOk(url: string): Promise<void> {
  if ((await waitForStatus(url, 200, 120_000)) !== 200) throw new Error(`${url} did not answer in time`);
}

/** Starts the executable under test with its pieces traced. */
function service(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  return start(args, { bin: BIN, env: { SPLASHTAIL_TRACE_PIECES: '1', LOG_LEVEL: 'warn', ...env } });
}

interface Target {
  name: string;
  pid: number;
  /** Its libraries, required alone beside it for the baseline (none: an older build without a trace). */
  libraries: string[] | undefined;
}

/** A process of the executable under test, with the libraries of the pieces it traced. */
function ours(name: string, running: Running, pid = running.child.pid!): Target {
  return { name, pid, libraries: librariesOf(running.output(), pid) };
}

/**
 * RSS of each process and of its libraries alone, side by side, each the lowest seen in the
 * second half of SETTLE_MS: V8 gives startup memory back once allocation calms down, at a moment
 * of its choosing (often around 30 s), so one reading at a fixed time is mostly noise. The
 * processes of one round idle together; returns their figures by name.
 */
async function idle(targets: Target[]): Promise<Map<string, number>> {
  const alone = await Promise.all(targets.map((t) => t.libraries && librariesAlone(t.libraries)));
  await sleep(SETTLE_MS / 2);
  const rss = targets.map(() => Infinity);
  const aloneRss = targets.map(() => Infinity);
  for (const end = Date.now() + SETTLE_MS / 2; Date.now() < end; await sleep(1_000)) {
    targets.forEach((t, i) => {
      rss[i] = Math.min(rss[i]!, rssMiB(t.pid));
      const script = alone[i];
      if (script) aloneRss[i] = Math.min(aloneRss[i]!, rssMiB(script.child.pid!));
    });
  }
  await Promise.all(alone.map((script) => script?.stop('SIGKILL')));
  targets.forEach(({ name, libraries }, i) => {
    const baseline = libraries ? `its libraries alone ${aloneRss[i]!.toFixed(0)} MiB (${libraries.join(' ')})` : 'n/a (no trace of pieces)';
    report(`${name} idle RSS`, `${rss[i]!.toFixed(0)} MiB`, baseline);
  });
  return new Map(targets.map((t, i) => [t.name, rss[i]!]));
}

async function startSim(guilds: number): Promise<{ sim: Running; url: string }> {
  const port = await freePort();
  const sim = service(['sim', '--port', String(port), '--guilds', String(guilds), '--shards', '1', '--identify-interval-ms', '0']);
  await sim.waitFor(/^sim listening on /, 120_000);
  return { sim, url: `http://127.0.0.1:${port}` };
}

function clusterPids(parent: number): number[] {
  return readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The webserver (hosting the clusterer) once its one bot cluster holds the sim's one shard. */
async function startWebserver(simUrl: string): Promise<{ webserver: Running; cluster: number }> {
  const [api, iserver] = [await freePort(), 20_000 + Math.floor(Math.random() * 20_000)];
  const { path } = writeTestConfig({
    'discord_auth.api_url': `${simUrl}/api`, 'meta.port': api, 'meta.bot_iserver_base_port': iserver,
    'clusterer.redis_channel': uniqueName('bench'), 'clusterer.cluster_start_next_delay': 100,
  });
  const webserver = service(['webserver', '--config', path]);
  await waitOk(`http://127.0.0.1:${api}/healthz`);
  const deadline = Date.now() + 300_000;
  while (!((await (await fetch(`http://127.0.0.1:${api}/clusters`)).json()) as { clusters: { state: string }[] }).clusters.some((c) => c.state === 'up')) {
    if (Date.now() > deadline) throw new Error('no bot cluster up in time');
    await sleep(250);
  }
  return { webserver, cluster: clusterPids(webserver.child.pid!)[0]! };
}

/** A proxy holding the sim's one shard; its keys are removed by stop(). */
async function startProxy(simUrl: string): Promise<{ proxy: Running; stop: () => Promise<void> }> {
  const port = await freePort();
  const prefix = `${uniqueName('bench')}:`;
  const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix });
  const proxy = service(['proxy', '--config', path]);
  await waitOk(`http://127.0.0.1:${port}/healthz`);
  await waitProxyReady(`http://127.0.0.1:${port}`, 1, 300_000);
  return { proxy, stop: async () => void (await proxy.stop(), await dropKeys(prefix)) };
}

/** A discord-hybrid-sharding ClusterManager (in this process) and its one cluster, once ready. */
async function startHybridCluster(simUrl: string): Promise<{ pid: number; stop: () => void }> {
  const manager = new ClusterManager(join(__dirname, 'hybrid-sharding-cluster.cjs'), {
    totalShards: 1, totalClusters: 1, shardsPerClusters: 1, mode: 'process', token: DEFAULT_TOKEN,
    shardArgs: [`${simUrl}/api`], respawn: false,
  });
  await manager.spawn({ timeout: 120_000 });
  const cluster = manager.clusters.get(0)!;
  const child = cluster.thread?.process;
  if (!child || !('pid' in child) || !child.pid) throw new Error('the discord-hybrid-sharding cluster has no process');
  return { pid: child.pid, stop: () => void cluster.kill({ force: true }) };
}

async function main() {
  const [bare, help, commander] = shortRuns([
    [process.execPath, ['-e', '0']],
    [BIN, ['--help']],
    [process.execPath, ['-e', "require('commander')"]],
  ]);
  report('node -e 0', short(bare!), 'Node itself');
  report('./splashtail --help', short(help!), `commander alone ${short(commander!)}`);

  // 5 guilds: a bot cluster beside a discord-hybrid-sharding cluster holding the same guilds.
  for (const guilds of [0, 5, 1_000]) {
    const { sim, url } = await startSim(guilds);
    const targets: Target[] = guilds === 0 ? [ours('sim (0 guilds)', sim)] : [];
    const stops: (() => unknown)[] = [];
    try {
      if (guilds !== 5) {
        const { proxy, stop } = await startProxy(url);
        stops.push(stop);
        targets.push(ours(`proxy (${guilds} guilds)`, proxy));
      }
      const { webserver, cluster } = await startWebserver(url);
      stops.push(() => webserver.stop());
      if (guilds === 0) targets.push(ours('webserver', webserver));
      targets.push(ours(`bot cluster (${guilds} guilds)`, webserver, cluster));
      if (guilds === 5) {
        const hybrid = await startHybridCluster(url);
        stops.push(hybrid.stop);
        targets.push({ name: 'discord-hybrid-sharding cluster (5 guilds)', pid: hybrid.pid, libraries: ['discord.js', 'discord-hybrid-sharding'] });
      }
      const rss = await idle(targets);
      if (guilds === 5) {
        report('bot cluster, 5 guilds', `${rss.get('bot cluster (5 guilds)')!.toFixed(0)} MiB`, `a discord-hybrid-sharding cluster ${rss.get('discord-hybrid-sharding cluster (5 guilds)')!.toFixed(0)} MiB`);
      }
    } finally {
      for (const stop of stops.reverse()) await stop();
      await sim.stop();
    }
  }

  const db = await createTestDatabase();
  try {
    const port = await freePort();
    const { path } = writeTestConfig({ 'meta.jobserver_port': port, 'meta.postgres_url': db.url });
    const jobs = service(['jobs', '--config', path]);
    await waitOk(`http://127.0.0.1:${port}/healthz`);
    await idle([ours('jobs', jobs)]);
    await jobs.stop();
  } finally {
    await db.drop();
  }
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
