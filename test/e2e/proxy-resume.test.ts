// Issues #11/#12: a bot RESUMEs to the proxy and gets every event it missed, once, in order,
// whether its connection merely dropped or the proxy was killed -9 and restarted, while the
// sim's load generator keeps sending. The truth is a second client connected straight to the
// sim with the same intents: it sees every dispatch the sim sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, REDIS_URL, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';
import { assertRunOf } from '../helpers/event-run';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Guilds, GuildMessages, MessageContent: the same events, with the same fields, on both paths. */
const INTENTS = 1 | 512 | 32768;
type ShardStats = Record<string, { identifies: number; resumes: number }>;

/** What the load sends (READY, RESUMED and the GUILD_CREATEs after READY are per session). */
const loadEvents = (frames: RawFrame[]) => frames.filter((f) => f.op === 0 && f.t !== 'READY' && f.t !== 'RESUMED' && f.t !== 'GUILD_CREATE').map((f) => `${f.t} ${JSON.stringify(f.d)}`);

describe('downstream RESUME to the proxy (#11, #12)', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyWs: string;
  let configPath: string;
  let prefix: string;
  let truth: RawGatewayClient;
  const clients: RawGatewayClient[] = [];

  const startProxy = async () => {
    const p = start(['proxy', '--config', configPath]);
    await p.waitFor(/"msg":"proxy listening/);
    return p;
  };
  const shardReady = async () => {
    const body = (await (await fetch(`${proxyWs.replace('ws', 'http')}/shards`)).json()) as { shards: { status: string }[] };
    return body.shards.length === 1 && body.shards[0]!.status === 'Ready';
  };
  const simStats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: ShardStats }).shards;
  const client = async (url: string) => {
    const c = new RawGatewayClient(url).heartbeat();
    clients.push(c);
    await c.next((f) => f.op === 10);
    return c;
  };
  const identified = async () => {
    const c = await client(proxyWs);
    c.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: INTENTS });
    await c.dispatch('READY', 30_000);
    return c;
  };
  const lastSeq = (c: RawGatewayClient) => Math.max(...c.frames.filter((f) => f.op === 0).map((f) => f.s!));
  /** A RESUME on a new connection (it waits for the proxy to listen). */
  const resumed = async (sessionId: string, seq: number) => {
    let c: RawGatewayClient | undefined;
    await waitUntil('the proxy accepts connections', async () => {
      c = new RawGatewayClient(proxyWs);
      const hello = c.next((f) => f.op === 10, 2_000).then(() => true, () => false);
      const closed = c.closed.then(() => false);
      if (await Promise.race([hello, closed])) return true;
      c.terminate();
      return false;
    });
    clients.push(c!);
    c!.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq } });
    await c!.dispatch('RESUMED', 30_000);
    return c!;
  };

  /** The two connections of one session saw seq 1..n once each, and the load's events exactly as the sim sent them. */
  const assertExactlyOnce = async (first: RawGatewayClient, second: RawGatewayClient, resumedAt: number) => {
    const frames = [...first.frames.filter((f) => f.op === 0 && f.s! <= resumedAt), ...second.frames.filter((f) => f.op === 0)];
    const seqs = frames.map((f) => f.s!);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seq runs 1..n with no gap and no repeat');
    const got = loadEvents(frames);
    assert.ok(got.length > 100, `enough load events to mean something (${got.length})`);
    // The sim has sent at least as far as the bot got by now.
    await waitUntil('the direct client caught up', () => loadEvents(truth.frames).includes(got.at(-1)!));
    assertRunOf(got, loadEvents(truth.frames), 'the bot');
  };

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '0', '--seed', '11', '--rate', '150']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    // Connected before the proxy: it sees everything the proxy will.
    truth = await client(simUrl.replace('http', 'ws'));
    truth.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: INTENTS });
    await truth.dispatch('READY');
    const port = await freePort();
    prefix = `${uniqueName('st_resume')}:`;
    configPath = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix }).path;
    proxyWs = `ws://127.0.0.1:${port}`;
    proxy = await startProxy();
    await waitUntil('the upstream shard is ready', shardReady);
  });

  after(async () => {
    for (const c of clients) c.terminate();
    await proxy?.stop('SIGKILL');
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('a bot whose connection drops while events flow RESUMEs and gets every missed event once, in order', async () => {
    const a = await identified();
    const sessionId = a.frames.find((f) => f.t === 'READY')!.d.session_id as string;
    await waitUntil('events flow', () => loadEvents(a.frames).length >= 60);
    a.terminate();
    const seq = lastSeq(a);
    await sleep(1_000); // the load goes on while the bot is away
    const b = await resumed(sessionId, seq);
    await waitUntil('events flow again', () => loadEvents(b.frames).length >= 60);
    await assertExactlyOnce(a, b, seq);
    b.close();
  });

  it('after kill -9 and a restart of the proxy the bot RESUMEs: every event once, in order, no upstream IDENTIFY', async () => {
    const a = await identified();
    const sessionId = a.frames.find((f) => f.t === 'READY')!.d.session_id as string;
    await waitUntil('events flow', () => loadEvents(a.frames).length >= 100);
    const before = await simStats();
    await proxy.stop('SIGKILL');
    await a.closed;
    const seq = lastSeq(a);
    await sleep(500); // the load goes on while the proxy is down
    proxy = await startProxy();
    const b = await resumed(sessionId, seq);
    await waitUntil('events flow again', () => loadEvents(b.frames).length >= 100);
    await assertExactlyOnce(a, b, seq);
    const afterStats = await simStats();
    assert.equal(afterStats['0']!.identifies, before['0']!.identifies, 'the proxy RESUMEd upstream, it did not IDENTIFY');
    b.close();
  });

  it('a bot that got events the killed proxy never logged RESUMEs before they are back: it waits, then gets the rest once', async () => {
    const a = await identified();
    const sessionId = a.frames.find((f) => f.t === 'READY')!.d.session_id as string;
    await waitUntil('events flow', () => loadEvents(a.frames).length >= 500, 60_000);
    await proxy.stop('SIGKILL');
    await a.closed;
    const seq = lastSeq(a);
    // The last entries the bot got never reached Redis (as when a kill -9 beats the flush), more
    // than the upstream session store's last write (250 ms) covers: the upstream must RESUME
    // from the log's last s for Discord to replay them.
    const redis = new Redis(REDIS_URL);
    try {
      const tail = await redis.xrevrange(`${prefix}log:0`, '+', '-', 'COUNT', 250);
      await redis.xdel(`${prefix}log:0`, ...tail.map(([id]) => id));
    } finally {
      await redis.quit();
    }
    proxy = await startProxy();
    const b = await resumed(sessionId, seq);
    await waitUntil('events flow again', () => loadEvents(b.frames).length >= 100);
    await assertExactlyOnce(a, b, seq);
    b.close();
  });

  it('a RESUME of an unknown session, or from a seq the session never reached, is refused', async () => {
    const unknown = await client(proxyWs);
    unknown.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: 'f'.repeat(32), seq: 1 } });
    const invalid = await unknown.next((f) => f.op === 9);
    assert.equal(invalid.d, false);
    const a = await identified();
    const sessionId = a.frames.find((f) => f.t === 'READY')!.d.session_id as string;
    a.terminate();
    await sleep(500); // sessions are persisted every 100 ms
    await proxy.stop('SIGKILL');
    proxy = await startProxy();
    const ahead = await client(proxyWs);
    ahead.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq: lastSeq(a) + 1_000_000 } });
    assert.equal((await ahead.closed).code, 4007);
  });

  it('an append under an epoch that is no longer the shard\'s is refused: the log stops growing, fenced is counted', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const length = () => redis.xlen(`${prefix}log:0`);
      const fenced = async () => {
        const text = await (await fetch(`${proxyWs.replace('ws', 'http')}/metrics`)).text();
        return text.split('\n').filter((l) => l.startsWith('proxy_shard_log_fenced_total')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      };
      const grows = async () => {
        const n = await length();
        await sleep(500);
        return (await length()) > n;
      };
      await waitUntil('the log grows', grows);
      await redis.incr(`${prefix}shard:0:epoch`); // another node took shard 0
      await waitUntil('the refused append is counted', async () => (await fenced()) >= 1);
      assert.equal(await grows(), false, 'nothing more is appended');
    } finally {
      await redis.quit();
    }
  });
});
