// The clusterer hosted by `splashtail webserver`, its bot clusters and IServers, against the sim.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { BOT_COMMANDS, REDIS_URL, uniqueName } from '../helpers/services';
import { GatewayRelay } from '../helpers/gateway-relay';
import { poll } from '../helpers/deadline';

interface Status {
  id: number;
  state: string;
  pid: number | null;
  started_at: string | null;
  ready_at: string | null;
  restarts: number;
}

const SECRET = 'test-iserver-secret-0123456789abcdefghij';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freeBasePort(): Promise<number> {
  for (;;) {
    const a = await freePort();
    const { createServer } = await import('node:net');
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false)).listen(a + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok && a < 65000) return a;
  }
}

describe('clusterer, clusters and IServer (webserver against the sim)', () => {
  let sim: Running;
  let web: Running;
  let simUrl: string;
  let api: string;
  let basePort: number;
  let channel: string;
  let redis: Redis;
  /** Between the clusters and the sim: sees every session open and close, not a sample. */
  let relay: GatewayRelay;

  const json = async <T>(url: string, init?: RequestInit): Promise<T> => (await fetch(url, init)).json() as Promise<T>;
  const statuses = () => json<{ clusters: Status[] }>(`${api}/clusters`).then((b) => b.clusters);
  const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 40_000) =>
    poll(what, fn, timeoutMs, () => `; webserver output:\n${web.output().slice(-3000)}`);
  const allUp = (except?: Map<number, number | null>) =>
    waitFor('both clusters up', async () => {
      const s = await statuses();
      return s.length === 2 && s.every((c) => c.state === 'up' && (!except || c.pid !== except.get(c.id))) && s;
    });

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '4', '--guilds', '8', '--max-concurrency', '4', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    relay = new GatewayRelay(((await (await fetch(`${simUrl}/api/v10/gateway`)).json()) as { url: string }).url);
    const port = await freePort();
    basePort = await freeBasePort();
    channel = uniqueName('st_ipc');
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`,
      'meta.port': port,
      'meta.bot_iserver_base_port': basePort,
      'meta.bot_iserver_secret': SECRET,
      'clusterer.redis_channel': channel,
      'clusterer.ping_interval': 500,
      'clusterer.ping_timeout': 3000,
      'clusterer.cluster_start_next_delay': 100,
    });
    api = `http://127.0.0.1:${port}`;
    redis = new Redis(REDIS_URL);
    web = start(['webserver', '--config', path], { env: { BOOTSTRAP_COMMANDS: 'true', SPLASHTAIL__BOT__GATEWAY_URL: await relay.url } });
  });

  after(async () => {
    const pids = web ? ((await statuses().catch(() => [])) as Status[]).map((c) => c.pid) : [];
    for (const pid of pids) if (pid) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    await web?.stop();
    for (const pid of pids) if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await relay?.close();
    await sim?.stop();
    await redis?.quit();
  });

  it('launches 2 clusters x 2 shards in order; each IServer answers; /clusters shows both up', async () => {
    const s = await allUp();
    assert.deepEqual(s.map((c) => c.id), [0, 1]);
    assert.ok(Date.parse(s[1]!.started_at!) >= Date.parse(s[0]!.ready_at!), 'cluster 1 starts after cluster 0 is ready');
    for (const id of [0, 1]) {
      const info = await json<{ cluster_id: number; shards: number[]; guilds: number }>(`http://127.0.0.1:${basePort + id}/info`, { headers: { authorization: `Bearer ${SECRET}` } });
      assert.equal(info.cluster_id, id);
      assert.deepEqual(info.shards, id === 0 ? [0, 1] : [2, 3]);
    }
    assert.equal((await fetch(`http://127.0.0.1:${basePort}/info`)).status, 401);
    const modules = await json<{ modules: { name: string }[] }>(`${api}/clusters/0/modules`);
    assert.ok(modules.modules.some((m) => m.name === 'core'));
  });

  it('BOOTSTRAP_COMMANDS=true leaves the sim with exactly the bot commands; /ping is answered', async () => {
    const commands = await json<{ global: { name: string }[] }>(`${simUrl}/_sim/commands`);
    assert.deepEqual(commands.global.map((c) => c.name).sort(), BOT_COMMANDS);
    const guilds = await json<{ id: string; channels: { id: string; name: string }[] }[]>(`${simUrl}/_sim/guilds`);
    const general = guilds[0]!.channels.find((c) => c.name === 'general')!;
    const created = await json<{ id: string }>(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ guild_id: guilds[0]!.id, channel_id: general.id, command_name: 'ping' }),
    });
    const answer = await waitFor('the /ping answer', async () => {
      const i = await json<{ original: { content: string } | null }>(`${simUrl}/_sim/interactions/${created.id}`);
      return i.original?.content ? i.original : undefined;
    });
    assert.match(answer.content, /pong/i);
  });

  it('answers every IPC request with a command_id exactly once', async () => {
    const sub = new Redis(REDIS_URL);
    const replies: { command_id: string; output: { length?: number; error?: string } & number; scope: string; action: string }[] = [];
    await sub.subscribe(channel);
    sub.on('message', (_c: string, raw: string) => {
      const m = JSON.parse(raw);
      if (m.scope === 'bot' && m.command_id) replies.push(m);
    });
    const requests: [string, Record<string, unknown>?][] = [['statuses'], ['num_processes'], ['action_logs'], ['diag'], ['restart', { id: 7 }], ['stop', { id: 'x' }]];
    const ids = requests.map(([action]) => uniqueName(action));
    for (const [i, [action, args]] of requests.entries()) await redis.publish(channel, JSON.stringify({ scope: 'launcher', action, ...(args ? { args } : {}), command_id: ids[i] }));
    await waitFor('a reply to each request', async () => ids.every((id) => replies.some((r) => r.command_id === id)));
    await sleep(500);
    await sub.quit();
    for (const id of ids) assert.equal(replies.filter((r) => r.command_id === id).length, 1, `${id}: exactly one reply`);
    const byAction = (action: string) => replies.find((r) => r.command_id === ids[requests.findIndex(([a]) => a === action)])!;
    assert.equal(byAction('statuses').output.length, 2);
    assert.equal(byAction('num_processes').output, 2);
    assert.match(String(byAction('restart').output.error), /no cluster 7/);
    assert.match(String(byAction('stop').output.error), /args\.id must be a cluster id/);
  });

  it('rejects 20+ malformed IPC messages and IServer requests and keeps running', async () => {
    const before = await statuses();
    const garbage = ['', 'not json', '[]', '42', 'null', '{}', '{"scope":5}', '{"scope":"launcher"}', '{"scope":"launcher","action":"nope"}',
      '{"scope":"launcher","action":"start","args":{"id":"x"}}', '{"scope":"launcher","action":"stop","args":{"id":-1}}',
      '{"scope":"launcher","action":"restart","args":{"id":99}}', '{"id":"a","nonce":5,"diag":true}', '{"nonce":"x","data":"y"}',
      '{"scope":"launcher","action":"launch_next","args":{}}', '{"scope":"launcher","action":"statuses","command_id":{}}', '"str"', '{"scope":"bot"}',
      `{"scope":"launcher","action":"diag","output":${'1'.repeat(50)}}`, '{"scope":"launcher","action":"reshard","args":[1,2]}'];
    for (const g of garbage) await redis.publish(channel, g);
    const iserver = `http://127.0.0.1:${basePort}`;
    const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
    const bad: [string, RequestInit, number][] = [
      ['/guilds-exist', { method: 'POST', headers: auth, body: '{' }, 400],
      ['/guilds-exist', { method: 'POST', headers: auth, body: '{"guilds":"x"}' }, 400],
      ['/guilds-exist', { method: 'POST', headers: auth, body: '{"guilds":[{}]}' }, 400],
      ['/guilds-exist', { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: '{"guilds":[]}' }, 401],
      ['/guilds/abc', { headers: auth }, 400],
      ['/guilds/1', { headers: auth }, 404],
      ['/nope', { headers: auth }, 404],
    ];
    for (const [path, init, status] of bad) assert.equal((await fetch(`${iserver}${path}`, init)).status, status, path);
    await sleep(1500);
    const after = await statuses();
    assert.deepEqual(after.map((c) => [c.state, c.pid]), before.map((c) => [c.state, c.pid]));
  });

  it('restarts a killed cluster while the other keeps answering', async () => {
    const s = await statuses();
    const old = new Map(s.map((c) => [c.id, c.pid]));
    process.kill(s[1]!.pid!, 'SIGKILL');
    const answering = await json<{ cluster_id: number }>(`http://127.0.0.1:${basePort}/info`, { headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(answering.cluster_id, 0);
    const next = await waitFor('cluster 1 back up', async () => {
      const now = await statuses();
      return now[1]!.state === 'up' && now[1]!.pid !== old.get(1) && now;
    });
    assert.equal(next[0]!.pid, old.get(0), 'cluster 0 untouched');
  });

  it('restarts a cluster that stops answering diag (SIGSTOP) after ping_timeout', async () => {
    const s = await statuses();
    const frozen = s[0]!.pid!;
    process.kill(frozen, 'SIGSTOP');
    try {
      await waitFor('cluster 0 replaced', async () => {
        const now = await statuses();
        return now[0]!.state === 'up' && now[0]!.pid !== frozen && now;
      });
    } finally {
      try { process.kill(frozen, 'SIGCONT'); process.kill(frozen, 'SIGKILL'); } catch { /* already gone */ }
    }
    const log = await json<{ actions: { action?: string; data?: unknown }[] }>(`${api}/clusters/actions?limit=50`);
    assert.ok(JSON.stringify(log.actions).match(/timeout|diag|ping/i), 'the restart is in the action log');
  });

  it('IPC rollingrestart cycles every cluster, never two sessions on one shard', async () => {
    const s = await allUp();
    const old = new Map(s.map((c) => [c.id, c.pid]));
    const identifiesBefore = relay.identifies;
    relay.maxLive.clear();
    for (const [shard, open] of relay.live) relay.maxLive.set(shard, open);
    await redis.publish(channel, JSON.stringify({ scope: 'launcher', action: 'rollingrestart', command_id: uniqueName('cmd') }));
    await allUp(old);
    assert.equal(relay.identifies - identifiesBefore, 4, 'each shard identified once more');
    // Every session open and close went through the relay: this is the maximum, not a sample.
    assert.deepEqual(Object.fromEntries(relay.maxLive), { 0: 1, 1: 1, 2: 1, 3: 1 }, 'a shard was held by two sessions at once');
  });

  it('stops every cluster process on SIGTERM', async () => {
    const pids = (await statuses()).map((c) => c.pid!);
    assert.equal(await web.stop('SIGTERM'), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'cluster process still running');
  });
});
