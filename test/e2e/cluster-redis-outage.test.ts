// Clusters outlive a Redis outage: with the (private) Redis stopped for 60 s while the sim posts
// messages, no bot cluster is restarted, every message reaches the bot behind the proxy, and IPC
// works again once Redis is back, without a restart. Liveness travels over the process channel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { type PrivateService, privateRedis } from '../helpers/private-services';
import { uniqueName } from '../helpers/services';
import { poll } from '../helpers/deadline';

interface Status {
  id: number;
  state: string;
  pid: number | null;
  restarts: number;
  started_at: string | null;
  ready_at: string | null;
}

const SECRET = 'test-iserver-secret-0123456789abcdefghij';
const OUTAGE_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('clusters through a 60 s Redis outage (private Redis, sim -> proxy -> clusters)', () => {
  let redis: PrivateService;
  let sim: Running;
  let proxy: Running;
  let web: Running;
  let simUrl: string;
  let api: string;
  let basePort: number;
  let channel: string;
  let guilds: { id: string; channels: { id: string; name: string }[] }[];

  const json = async <T>(url: string, init?: RequestInit): Promise<T> => (await fetch(url, init)).json() as Promise<T>;
  const statuses = () => json<{ clusters: Status[] }>(`${api}/clusters`).then((b) => b.clusters);
  const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000) =>
    poll(what, fn, timeoutMs, () => `; webserver output:\n${web.output().slice(-4000)}\nproxy:\n${proxy.output().slice(-2000)}`, 250);
  /** MESSAGE_CREATEs the clusters handled, from their IServers' /metrics. */
  const messagesSeen = async () => {
    let total = 0;
    for (const id of [0, 1]) {
      const text = await (await fetch(`http://127.0.0.1:${basePort + id}/metrics`)).text();
      const m = /^splashtail_bot_gateway_events_total\{[^}]*type="MESSAGE_CREATE"[^}]*\} (\d+)/m.exec(text);
      total += m ? Number(m[1]) : 0;
    }
    return total;
  };
  let posted = 0;
  const post = async () => {
    const g = guilds[posted % guilds.length]!;
    const general = g.channels.find((c) => c.name === 'general')!;
    const res = await fetch(`${simUrl}/_sim/guilds/${g.id}/channels/${general.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: `outage ${posted}` }),
    });
    assert.equal(res.status, 200);
    posted++;
  };
  const interact = async (command: string) => {
    const g = guilds[0]!;
    const created = await json<{ id: string }>(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guild_id: g.id, channel_id: g.channels.find((c) => c.name === 'general')!.id, command_name: command }),
    });
    return waitFor(`the /${command} answer`, async () => {
      const i = await json<{ original: { content: string } | null }>(`${simUrl}/_sim/interactions/${created.id}`);
      return i.original?.content ? i.original.content : undefined;
    });
  };

  before(async () => {
    redis = await privateRedis();
    await redis.start();
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '4', '--guilds', '8', '--max-concurrency', '4', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guilds = await json(`${simUrl}/_sim/guilds`);
    const proxyPort = await freePort();
    const port = await freePort();
    basePort = await freePort();
    channel = uniqueName('st_ipc');
    const { path } = writeTestConfig({
      'meta.redis_url': redis.url,
      'discord_auth.api_url': `${simUrl}/api`,
      'proxy.port': proxyPort,
      'meta.port': port,
      'meta.bot_iserver_base_port': basePort,
      'meta.bot_iserver_secret': SECRET,
      'clusterer.redis_channel': channel,
      'clusterer.ping_interval': 500,
      'clusterer.ping_timeout': 3000,
      'clusterer.cluster_start_next_delay': 100,
    });
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    api = `http://127.0.0.1:${port}`;
    web = start(['webserver', '--config', path], {
      env: { SPLASHTAIL__BOT__GATEWAY_URL: `ws://127.0.0.1:${proxyPort}`, SPLASHTAIL__DISCORD_AUTH__API_URL: `http://127.0.0.1:${proxyPort}/api` },
    });
  });

  after(async () => {
    const pids = web ? ((await statuses().catch(() => [])) as Status[]).map((c) => c.pid) : [];
    for (const pid of pids) if (pid) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    await web?.stop();
    await proxy?.stop();
    await sim?.stop();
    await redis?.remove();
  });

  it('keeps every cluster (same pids), delivers every event, and IPC works again after Redis returns', async () => {
    const before = await waitFor('both clusters up', async () => {
      const s = await statuses();
      return s.length === 2 && s.every((c) => c.state === 'up') && s;
    });
    const pids = before.map((c) => c.pid);
    const seenBefore = await messagesSeen();

    await redis.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    const changes: string[] = [];
    let stats: string | undefined;
    while (Date.now() < outageEnds) {
      await post();
      const now = await statuses();
      for (const c of now) if (c.state !== 'up' || c.pid !== pids[c.id]) changes.push(`cluster ${c.id}: ${c.state} pid ${c.pid}`);
      if (!stats && Date.now() > outageEnds - OUTAGE_MS / 2) stats = await interact('stats');
      await sleep(2_000);
    }
    await redis.start();
    const why = web.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l) && !/redis error|reconnecting/.test(l)).slice(-15).join('\n');
    assert.deepEqual(changes, [], `no cluster left "up" or changed pid during the outage; warnings:\n${why}`);
    // IPC requests fail fast while Redis is down: /stats answers from this cluster alone.
    assert.match(stats!, /the clusterer did not answer/);

    const sub = new Redis(redis.url);
    const pub = new Redis(redis.url);
    try {
      const replies = new Set<string>();
      await sub.subscribe(channel);
      sub.on('message', (_c: string, raw: string) => {
        const m = JSON.parse(raw) as { scope?: string; command_id?: string };
        if (m.scope === 'bot' && m.command_id) replies.add(m.command_id);
      });
      await waitFor('an IPC reply after Redis returned', async () => {
        const id = uniqueName('statuses');
        await pub.publish(channel, JSON.stringify({ scope: 'launcher', action: 'statuses', command_id: id }));
        await sleep(1_000);
        return replies.has(id);
      });
    } finally {
      await sub.quit();
      await pub.quit();
    }
    assert.match(await interact('ping'), /pong/i);
    assert.match(await interact('stats'), /Clusters: 2\/2 up/);
    await waitFor(`all ${posted} messages at the bot`, async () => (await messagesSeen()) >= seenBefore + posted, 60_000);

    const afterOutage = await statuses();
    assert.deepEqual(afterOutage.map((c) => c.pid), pids, 'same cluster processes');
    assert.deepEqual(afterOutage.map((c) => c.restarts), [0, 0]);
    assert.doesNotMatch(web.output() + proxy.output(), /unhandled rejection|uncaught exception/);
  });

  it('restarts a stuck (SIGSTOPped) cluster, even while Redis is down', async () => {
    const s = await statuses();
    const frozen = s[0]!.pid!;
    await redis.stop();
    process.kill(frozen, 'SIGSTOP');
    try {
      const now = await waitFor('cluster 0 replaced and up', async () => {
        const c = await statuses();
        return c[0]!.state === 'up' && c[0]!.pid !== frozen && c;
      });
      assert.equal(now[1]!.pid, s[1]!.pid, 'cluster 1 untouched');
      assert.throws(() => process.kill(frozen, 0), 'the stuck process was killed');
    } finally {
      try { process.kill(frozen, 'SIGCONT'); } catch { /* already gone */ }
      await redis.start();
    }
  });

  it('restarts two kill -9ed clusters one after the other', async () => {
    const s = await waitFor('both clusters up', async () => {
      const c = await statuses();
      return c.every((x) => x.state === 'up') && c;
    });
    for (const c of s) process.kill(c.pid!, 'SIGKILL');
    const now = await waitFor('both clusters back up with new pids', async () => {
      const c = await statuses();
      return c.every((x) => x.state === 'up' && x.pid !== s[x.id]!.pid) && c;
    });
    const [first, second] = [...now].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
    assert.ok(Date.parse(second!.started_at!) >= Date.parse(first!.ready_at!), `staggered: cluster ${second!.id} started ${second!.started_at}, after cluster ${first!.id} was ready ${first!.ready_at}`);
  });
});
