// `./splashtail dev` brings the stack up against the sim, announces each service, registers the
// bot's commands, keeps to its own names in the shared Redis and RabbitMQ (capped event queue),
// sends a login back to a page it serves, and on SIGTERM stops and removes what it created.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { start } from '../helpers/process';
import { AMQP_URL, BOT_COMMANDS, REDIS_URL, createTestDatabase } from '../helpers/services';

const json = async <T>(url: string, init?: RequestInit): Promise<T> => (await fetch(url, init)).json() as Promise<T>;

/** Keys matching `pattern` in the shared Redis (SCAN, bounded). */
async function keys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0' && found.length < 100_000);
  return found;
}

/** The queue's message count, or null when it does not exist. */
async function queueDepth(name: string): Promise<number | null> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    return (await channel.checkQueue(name)).messageCount;
  } catch {
    return null;
  } finally {
    await connection.close().catch(() => {});
  }
}

describe('./splashtail dev', () => {
  it('runs sim, proxy, jobs and webserver with clusters behind the proxy in its own names, then stops and cleans up', async () => {
    const db = await createTestDatabase();
    const redis = new Redis(REDIS_URL);
    const instance = `t${randomBytes(5).toString('hex')}`;
    const prefix = `splashtail:dev:${instance}:`;
    const [sim, proxy, api, jobs, iserver] = [await freePort(), await freePort(), await freePort(), await freePort(), 20_000 + Math.floor(Math.random() * 20_000)];
    const mirror = await freePort();
    const simUrl = `http://127.0.0.1:${sim}`;
    const apiUrl = `http://127.0.0.1:${api}`;
    const { path } = writeTestConfig({
      // A world of its own: its guild ids are not written by any other test.
      'sim.port': sim, 'sim.max_concurrency': 4, 'sim.identify_interval_ms': 0, 'sim.seed': Math.floor(Math.random() * 2 ** 30),
      'proxy.port': proxy, 'mirror.port': mirror,
      'meta.port': api, 'meta.jobserver_port': jobs, 'meta.jobserver_url': `http://127.0.0.1:${jobs}`, 'meta.bot_iserver_base_port': iserver,
      'meta.postgres_url': db.url,
      'clusterer.cluster_start_next_delay': 100,
      'dev.instance': instance, 'dev.recv_max_events': 50,
    });
    const dev = start(['dev', '--config', path]);
    try {
      assert.equal(await dev.waitFor(/^dev: instance /, 30_000), `dev: instance ${instance}: Redis keys under "${prefix}", IPC channel "${prefix}mewld", exchange "splashtail-dev-${instance}"; all removed on stop`);
      assert.equal(await dev.waitFor(/^sim: /, 30_000), `sim: ${simUrl}`);
      assert.equal(await dev.waitFor(/^proxy: /, 30_000), `proxy: ws://127.0.0.1:${proxy}`);
      assert.equal(await dev.waitFor(/^jobs: /, 30_000), `jobs: http://127.0.0.1:${jobs}`);
      assert.equal(await dev.waitFor(/^mirror: /, 30_000), `mirror: http://127.0.0.1:${mirror}`);
      assert.equal(await dev.waitFor(/^webserver: /, 60_000), `webserver: ${apiUrl}`);
      await dev.waitFor(/^dev: all services up/, 60_000);
      const deadline = Date.now() + 30_000;
      let clusters: { state: string }[] = [];
      while (Date.now() < deadline) {
        clusters = (await json<{ clusters: { state: string }[] }>(`${apiUrl}/clusters`)).clusters;
        if (clusters.length === 2 && clusters.every((c) => c.state === 'up')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(clusters.map((c) => c.state), ['up', 'up']);
      // The clusters' shards are sessions of the proxy, not of the sim directly.
      const shards = await json<{ downstream: { connected: number } }>(`http://127.0.0.1:${proxy}/shards`);
      assert.equal(shards.downstream.connected, 4);

      // The bot's commands are registered in the sim, as BOOTSTRAP_COMMANDS does.
      const commands = await json<{ global: { name: string }[] }>(`${simUrl}/_sim/commands`);
      assert.deepEqual(commands.global.map((c) => c.name).sort(), BOT_COMMANDS);

      // A login comes back to the webserver and lands on a page it serves.
      const guilds = await json<{ id: string; owner_id: string }[]>(`${simUrl}/_sim/guilds`);
      const authorize = new URL((await fetch(`${apiUrl}/auth/login`, { redirect: 'manual' })).headers.get('location')!);
      authorize.searchParams.set('user_id', guilds[0]!.owner_id);
      const consent = await fetch(authorize, { redirect: 'manual' });
      const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
      assert.equal(callback.status, 302);
      const landing = await fetch(callback.headers.get('location')!);
      assert.equal(landing.status, 200, `landed on ${callback.headers.get('location')}`);
      assert.match(landing.headers.get('content-type')!, /text\/html/);

      // Events flow into the instance's queue, which keeps at most dev.recv_max_events.
      await fetch(`${simUrl}/_sim/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"events":300}' });
      const recv = `splashtail-dev-${instance}.recv`;
      const until = Date.now() + 30_000;
      let depth: number | null = 0;
      while (Date.now() < until && (depth = await queueDepth(recv)) !== 50) await new Promise((r) => setTimeout(r, 250));
      assert.equal(depth, 50, 'the event queue is capped at dev.recv_max_events');

      // Redis: the state cache and the rest under the instance's prefix, nothing unprefixed.
      assert.ok((await keys(redis, `${prefix}state:guild:*`)).length >= guilds.length, 'state cached under the prefix');
      assert.ok((await keys(redis, `${prefix}mewld:action_logs`)).length === 1, 'the action log under the prefix');
      for (const g of guilds) assert.equal(await redis.exists(`guild:${g.id}`), 0, `unprefixed guild:${g.id} in Redis`);
    } finally {
      const code = await dev.stop('SIGTERM');
      await db.drop();
      assert.equal(code, 0, dev.output().slice(-3000));
    }
    assert.match(dev.output(), new RegExp(`^dev: removed instance ${instance}: \\d+ Redis keys, 13 queues and the exchange$`, 'm'));
    assert.deepEqual(await keys(redis, `${prefix}*`), [], 'no key of the instance is left');
    assert.equal(await queueDepth(`splashtail-dev-${instance}.recv`), null, 'the event queue is gone');
    assert.equal(await queueDepth(`splashtail-dev-${instance}.send`), null, 'the command queue is gone');
    await redis.quit();
  });
});
