// Issue #11, bots connect to any node: two proxy nodes on fixed shard ranges ([0,0] and [1,1]
// of 2) share Redis. A bot of shard 1 IDENTIFYs on node A, which does not own shard 1 and
// serves it from the shard log and the persisted guild state; its session RESUMEs on node B
// (the owner) and back on A, and across the hops it gets every event of shard 1 the sim sent,
// once, in order. When the owner is killed -9 and restarted, a bot on the other node keeps its
// connection and a bot of the dead node RESUMEs on the other one: neither loses an event.
// Without the log, a node refuses shards it does not run (4010).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';
import { assertRunOf } from '../helpers/event-run';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTENTS = 1 | 512 | 32768;

async function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

const loadEvents = (frames: RawFrame[]) => frames.filter((f) => f.op === 0 && f.t !== 'READY' && f.t !== 'RESUMED' && f.t !== 'GUILD_CREATE').map((f) => `${f.t} ${JSON.stringify(f.d)}`);

describe('bots connect to any proxy node (#11)', () => {
  let sim: Running;
  let simUrl: string;
  const nodes: Running[] = [];
  const urls: string[] = [];
  const configs = new Map<string, string>();
  let prefix: string;
  let truth: RawGatewayClient;
  const clients: RawGatewayClient[] = [];

  const startNode = async (shards: [number, number], extra: Record<string, unknown> = {}) => {
    const port = await freePort();
    const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix, 'proxy.shards': shards, 'proxy.shard_count': 2, ...extra });
    const node = start(['proxy', '--config', path]);
    nodes.push(node);
    await node.waitFor(/"msg":"proxy listening/);
    const url = `ws://127.0.0.1:${port}`;
    configs.set(url, path);
    await waitUntil(`node ${url} ready`, async () => ((await (await fetch(`${url.replace('ws', 'http')}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready'));
    return url;
  };
  const client = async (url: string) => {
    const c = new RawGatewayClient(url).heartbeat();
    clients.push(c);
    await c.next((f) => f.op === 10);
    return c;
  };
  const lastSeq = (c: RawGatewayClient) => Math.max(...c.frames.filter((f) => f.op === 0).map((f) => f.s!));
  const identified = async (url: string) => {
    const c = await client(url);
    c.identify(DEFAULT_TOKEN, { shard: [1, 2], intents: INTENTS });
    await c.dispatch('READY', 30_000);
    return c;
  };
  const resumed = async (url: string, sessionId: string, seq: number) => {
    const c = await client(url);
    c.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq } });
    await c.dispatch('RESUMED', 30_000);
    return c;
  };
  /** Connections of one session (each up to the seq the next resumed from): seq 1..n once, and shard 1's events as the sim sent them. */
  const assertExactlyOnce = async (hops: [RawGatewayClient, number][], last: RawGatewayClient) => {
    const frames = [...hops.flatMap(([c, upTo]) => c.frames.filter((f) => f.op === 0 && f.s! <= upTo)), ...last.frames.filter((f) => f.op === 0)];
    const seqs = frames.map((f) => f.s!);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seq runs 1..n with no gap and no repeat');
    const got = loadEvents(frames);
    await waitUntil('the direct client caught up', () => loadEvents(truth.frames).includes(got.at(-1)!));
    assertRunOf(got, loadEvents(truth.frames), 'shard 1');
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '6', '--max-concurrency', '2', '--identify-interval-ms', '0', '--seed', '13', '--rate', '200']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    truth = await client(simUrl.replace('http', 'ws'));
    truth.identify(DEFAULT_TOKEN, { shard: [1, 2], intents: INTENTS });
    await truth.dispatch('READY');
    prefix = `${uniqueName('st_nodes')}:`;
    urls.push(await startNode([0, 0]), await startNode([1, 1]));
  });

  after(async () => {
    for (const c of clients) c.terminate();
    for (const n of nodes) await n.stop('SIGKILL');
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('a bot of shard 1 on the node that owns shard 0 gets its guilds and events, and RESUMEs on either node losing nothing', async () => {
    const [nodeA, nodeB] = urls as [string, string];
    const shard1 = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[]).filter((g) => g.shard === 1).map((g) => g.id).sort();
    const a = await client(nodeA);
    a.identify(DEFAULT_TOKEN, { shard: [1, 2], intents: INTENTS });
    const ready = await a.dispatch('READY', 30_000);
    assert.deepEqual(ready.d.shard, [1, 2]);
    assert.deepEqual((ready.d.guilds as { id: string }[]).map((g) => g.id).sort(), shard1, 'READY lists shard 1\'s guilds');
    await waitUntil('a GUILD_CREATE per guild', () => a.frames.filter((f) => f.t === 'GUILD_CREATE').length === shard1.length);
    const sessionId = ready.d.session_id as string;
    await waitUntil('events flow on node A', () => loadEvents(a.frames).length >= 60);

    const hops: [RawGatewayClient, number][] = [];
    let current = a;
    for (const next of [nodeB, nodeA]) {
      current.terminate();
      const seq = lastSeq(current);
      hops.push([current, seq]);
      await sleep(500); // events go on meanwhile
      current = await resumed(next, sessionId, seq);
      const from = loadEvents(current.frames).length;
      await waitUntil(`events flow on ${next}`, () => loadEvents(current.frames).length >= from + 60);
    }

    await assertExactlyOnce(hops, current);
    current.close();
  });

  it('kill -9 of the owner and its restart: a bot on the other node loses nothing, a bot of the dead node RESUMEs there', async () => {
    const [nodeA, nodeB] = urls as [string, string];
    const onA = await identified(nodeA);
    const onB = await identified(nodeB);
    const sessionB = onB.frames.find((f) => f.t === 'READY')!.d.session_id as string;
    await waitUntil('events flow', () => loadEvents(onA.frames).length >= 60 && loadEvents(onB.frames).length >= 60);
    await sleep(300); // one anchor write
    const identifies = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: Record<string, { identifies: number }> }).shards['1']!.identifies;
    const before = await identifies();
    await nodes[1]!.stop('SIGKILL');
    await onB.closed;
    const seq = lastSeq(onB);
    // Events the bot got from B that B never logged come back when B RESUMEs upstream: the
    // RESUME on A may wait for that, so B restarts meanwhile.
    const resuming = resumed(nodeA, sessionB, seq);
    await sleep(500); // the sim goes on sending; nobody owns shard 1
    const restarted = start(['proxy', '--config', configs.get(nodeB)!]);
    nodes.push(restarted);
    await restarted.waitFor(/"msg":"proxy listening/);
    const movedToA = await resuming;
    const fromA = loadEvents(onA.frames).length;
    await waitUntil('events flow again on node A', () => loadEvents(onA.frames).length >= fromA + 100 && loadEvents(movedToA.frames).length >= 100, 60_000);
    assert.equal(await identifies(), before, 'the restarted owner RESUMEd shard 1, it did not IDENTIFY');
    await assertExactlyOnce([], onA);
    await assertExactlyOnce([[onB, seq]], movedToA);
  });

  it('a member request from a bot on a node that does not own the shard goes upstream through the owner; the chunk comes back to it, with its nonce', async () => {
    const shard1 = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[]).find((g) => g.shard === 1)!.id;
    const asker = await identified(urls[0]!);
    const other = await identified(urls[1]!);
    asker.send({ op: 8, d: { guild_id: shard1, query: '', limit: 0, nonce: 'from-node-a' } });
    const chunk = await asker.dispatch('GUILD_MEMBERS_CHUNK', 30_000);
    assert.equal(chunk.d.nonce, 'from-node-a');
    assert.equal(chunk.d.guild_id, shard1);
    assert.ok((chunk.d.members as unknown[]).length > 0);
    await sleep(500);
    assert.equal(other.frames.filter((f) => f.t === 'GUILD_MEMBERS_CHUNK').length, 0, 'nobody else gets it');
  });

  it('without the shard log a node refuses a shard it does not run (4010), apart from shards outside the count', async () => {
    const own = await startNode([0, 0], { 'proxy.shard_log_max_events': 0, 'proxy.session_key_prefix': `${prefix}nolog:` });
    const elsewhere = await client(own);
    elsewhere.identify(DEFAULT_TOKEN, { shard: [1, 2] });
    const refused = await elsewhere.closed;
    assert.equal(refused.code, 4010);
    assert.match(refused.reason, /not served by this proxy node/);
    const outside = await client(urls[0]!);
    outside.identify(DEFAULT_TOKEN, { shard: [7, 2] });
    const invalid = await outside.closed;
    assert.equal(invalid.code, 4010);
    assert.match(invalid.reason, /0 <= shard_id < num_shards/);
  });
});
