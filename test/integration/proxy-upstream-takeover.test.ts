// The upstream side of a takeover against the sim, in process, with a real Redis: the new owner
// of a shard RESUMEs from the shard log's last `s` when it is ahead of the periodically
// persisted seq (shardlog's `ShardLog.lastSeq`, here a stand-in), so Discord replays only what
// nobody handed on, and it hands on no dispatch at or below that `s`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Histogram, Registry } from 'prom-client';
import { createSimServer, type SimServer } from '../../internal/sim/server';
import { shardKeys } from '../../proxy/ownership';
import { SessionStore } from '../../proxy/session-store';
import { fetchGatewayInfo, type LastLogged, Upstream } from '../../proxy/upstream';
import { waitUntil } from '../helpers/proxy-nodes';
import { REDIS_URL, uniqueName } from '../helpers/services';

const silent = pino({ level: 'silent' });
const owner = { holds: () => true, lose: () => {} };

describe('upstream takeover: RESUME after the shard log, no replay handed on twice', () => {
  const prefix = `${uniqueName('st_takeover')}:`;
  const redis = new Redis(REDIS_URL);
  const registry = new Registry();
  const takeoverSeconds = new Histogram({ name: 'takeover_seconds', help: 'x', registers: [registry] });
  let sim: SimServer;
  const nodes: { upstream: Upstream; sessions: SessionStore }[] = [];

  const node = async (lastLogged?: LastLogged) => {
    const sessions = new SessionStore(redis, prefix, silent, owner);
    const upstream = new Upstream({
      token: sim.world.token, intents: 513, shardCount: 1, gatewayInfo: await fetchGatewayInfo(`${sim.url}/api`, sim.world.token), sessions,
      waitForIdentify: async () => {}, holds: () => true, lastLogged, takeoverSeconds, logger: silent,
    });
    const seen: number[] = [];
    upstream.onDispatch((_shard, payload: GatewayDispatchPayload, replayed) => {
      if (!replayed) seen.push(payload.s);
    });
    nodes.push({ upstream, sessions });
    return { upstream, sessions, seen };
  };
  const burst = (count: number) => fetch(`${sim.url}/_sim/burst`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count }) });
  const stats = async () => ((await (await fetch(`${sim.url}/_sim/stats`)).json()) as { shards: Record<string, { dispatched: number; last_seq: number }> }).shards['0']!;
  const connections = async () => ((await (await fetch(`${sim.url}/_sim/shards/0/connections`)).json()) as { connections: { session_id: string; started: string; closed_at: string | null }[] }).connections;

  before(async () => {
    sim = await createSimServer({ host: '127.0.0.1', port: 0, guilds: 2, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 5, logger: silent });
  });

  after(async () => {
    for (const n of nodes) {
      await n.upstream.release(0, false);
      await n.sessions.close();
    }
    await sim.close();
    await redis.del(shardKeys(prefix, 0).epoch, `${prefix}sessions`);
    await redis.quit();
  });

  it('resumes from the log\'s last s and drops replays at or below it', async () => {
    const first = await node();
    const epoch1 = await redis.incr(shardKeys(prefix, 0).epoch);
    await first.upstream.acquire(0, epoch1);
    await waitUntil('first owner ready', () => first.upstream.statuses()[0]?.status === 'Ready', 20_000);
    await burst(20);
    await waitUntil('first owner handed on the burst', async () => first.seen.at(-1) === (await stats()).last_seq, 20_000);
    const handedOn = first.seen.at(-1)!;
    const sessionId = first.upstream.sessionInfo(0)!.sessionId;
    // The owner dies between two session flushes: Redis has an older seq than the log.
    const stale = handedOn - 10;
    await first.upstream.release(0, false);
    await redis.hset(`${prefix}sessions`, '0', JSON.stringify({ ...first.upstream.sessionInfo(0), sessionId, sequence: stale, shardId: 0, shardCount: 1, resumeURL: sim.url.replace('http', 'ws') }));
    await burst(5);
    await waitUntil('the sim holds 5 more events', async () => (await stats()).last_seq === handedOn + 5, 10_000);

    const dispatchedBefore = (await stats()).dispatched;
    const second = await node(async () => ({ sessionId, seq: handedOn }));
    const epoch2 = await redis.incr(shardKeys(prefix, 0).epoch);
    await second.upstream.acquire(0, epoch2);
    await waitUntil('second owner resumed', () => second.upstream.statuses()[0]?.status === 'Ready', 20_000);
    await waitUntil('second owner handed on the gap', () => second.seen.includes(handedOn + 5), 10_000);

    assert.deepEqual(second.seen.filter((s) => s <= handedOn), [], 'nothing the log already holds is handed on again');
    assert.deepEqual(second.seen.slice(0, 5), [1, 2, 3, 4, 5].map((i) => handedOn + i), 'the gap, in order, once');
    // 5 replayed events + RESUMED: Discord was asked only for what the log lacks.
    assert.equal((await stats()).dispatched - dispatchedBefore, 6);
    const last = (await connections()).at(-1)!;
    assert.equal(last.started, 'RESUME');
    assert.equal(last.session_id, sessionId);
  });
});
