// Postgres goes away under a running jobserver (a private cluster, stopped as by a crash): the API
// answers 503 naming the database within seconds, the process stays up, and once Postgres is back
// every task, the one that was running included, completes. Connections cut by Postgres (a restart,
// pg_terminate_backend) while a client is checked out must not end the process either.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type PrivateService, privatePostgres } from '../helpers/private-services';
import { type Running, start } from '../helpers/process';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('jobserver with Postgres down', () => {
  let pg: PrivateService | undefined;
  let skip: string | undefined;
  let sim: Running;
  let jobs: Running;
  let api: string;
  let guilds: string[];
  const call = async (method: string, path: string, body?: unknown) => {
    const headers = { authorization: `bot ${SECRET}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: (await res.json()) as { error?: string; state?: string; task_id?: string; statuses?: { msg: string }[] } };
  };

  before(async () => {
    try {
      pg = await privatePostgres();
      await pg.start();
    } catch (err) {
      skip = `no private Postgres could be started: ${(err as Error).message}`;
      return;
    }
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '3', '--shards', '1', '--rest-limit', '5', '--seed', '5']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guilds = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string }[]).map((g) => g.id);
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'sites.cdn': `${simUrl}/cdn`, 'meta.postgres_url': pg.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')), 'jobs.lease_seconds': 5, 'jobs.rest_timeout_seconds': 2, 'jobs.concurrency': 1,
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
  });

  after(async () => {
    await jobs?.stop();
    await sim?.stop();
    await pg?.remove();
  });

  it('answers 503 within seconds while Postgres is down, and finishes every task once it is back', async (t) => {
    if (skip) return t.skip(skip);
    const ids: string[] = [];
    for (const guild of guilds) {
      const created = await call('POST', '/tasks', { name: 'guild_create_backup', for: guild, data: { messages_per_channel: 40 } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ids.push(created.body.task_id!);
    }
    // The first is running (concurrency 1), the others wait.
    for (let deadline = Date.now() + 30_000; (await call('GET', `/tasks/${ids[0]}`)).body.state !== 'running'; await sleep(100)) assert.ok(Date.now() < deadline);
    const pid = jobs.child.pid;

    await pg!.stop();
    const routes: [string, string, unknown?][] = [
      ['GET', `/tasks/${ids[0]}`], ['POST', '/tasks', { name: 'guild_create_backup', for: guilds[0] }], ['GET', `/entities/${guilds[0]}/tasks`],
      ['POST', `/tasks/${ids[1]}/cancel`], ['POST', `/tasks/${ids[1]}/execute`], ['GET', `/tasks/${ids[0]}/download-url`],
    ];
    for (const [method, path, body] of routes) {
      const began = Date.now();
      const res = await call(method, path, body);
      assert.equal(res.status, 503, `${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, /Postgres\) is unavailable/);
      assert.ok(Date.now() - began < 5_000, `${method} ${path} took ${Date.now() - began} ms`);
    }
    assert.equal((await fetch(`${api}/healthz`)).status, 503);
    assert.equal((await fetch(`${api}/metrics`)).status, 200, '/metrics still answers');

    await sleep(8_000); // longer than the lease: renewals and claims fail meanwhile
    assert.equal(jobs.child.exitCode, null, 'the jobserver is still up');
    await pg!.start();

    for (const id of ids) {
      for (let deadline = Date.now() + 120_000; ; await sleep(250)) {
        const { body } = await call('GET', `/tasks/${id}`);
        if (body.state === 'completed') break;
        assert.ok(['pending', 'running'].includes(body.state!), `task ${id}: ${JSON.stringify(body)}`);
        assert.ok(Date.now() < deadline, `task ${id} did not complete: ${JSON.stringify(body)}`);
      }
    }
    assert.equal(jobs.child.pid, pid);
    assert.equal(jobs.child.exitCode, null);
    assert.match(jobs.output(), /Postgres is unavailable; the task stops|lost the lease/);
  });

  /**
   * Cuts every connection of the jobserver, again and again for `ms`, as a restarting Postgres does
   * ("terminating connection due to administrator command"), whatever the client is doing: idle,
   * checked out between the queries of a claim, or in a query.
   */
  const cutConnections = async (ms: number): Promise<number> => {
    const admin = new Client({ connectionString: pg!.url });
    admin.on('error', () => {});
    await admin.connect();
    let cut = 0;
    try {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) {
        const { rowCount } = await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and datname = current_database() and backend_type = 'client backend'",
        );
        cut += rowCount ?? 0;
      }
    } finally {
      await admin.end();
    }
    return cut;
  };

  it('stays up when Postgres cuts its connections or restarts, idle or mid-task, and goes on', async (t) => {
    if (skip) return t.skip(skip);
    const pid = jobs.child.pid;
    const alive = () => assert.equal(jobs.child.exitCode, null, `the jobserver exited:\n${jobs.output().slice(-3000)}`);

    // Idle: only the claim loop (a checked-out client, a transaction of several queries) talks to Postgres.
    assert.ok((await cutConnections(10_000)) > 0, 'connections were cut');
    alive();
    await pg!.stop();
    await sleep(3_000);
    await pg!.start();
    alive();

    // Mid-task: renewals, status writes and checkpoints are cut too.
    const created = await call('POST', '/tasks', { name: 'guild_create_backup', for: guilds[0], data: { messages_per_channel: 40 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.task_id!;
    for (const deadline = Date.now() + 30_000; (await call('GET', `/tasks/${id}`)).body.state !== 'running'; await sleep(100)) assert.ok(Date.now() < deadline);
    await cutConnections(5_000);
    alive();
    await pg!.stop();
    await sleep(3_000);
    await pg!.start();

    // And it goes on: the cut task and a new one both complete.
    const next = await call('POST', '/tasks', { name: 'guild_create_backup', for: guilds[1] });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    for (const task of [id, next.body.task_id!]) {
      for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
        const { body } = await call('GET', `/tasks/${task}`);
        if (body.state === 'completed') break;
        assert.ok(['pending', 'running'].includes(body.state!), `task ${task}: ${JSON.stringify(body)}`);
        assert.ok(Date.now() < deadline, `task ${task} did not complete: ${JSON.stringify(body)}`);
      }
    }
    alive();
    assert.equal(jobs.child.pid, pid);
  });
});
