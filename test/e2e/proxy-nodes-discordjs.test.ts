// Issue #11's "done when" with real bots: 3 proxy nodes in `shards: auto` (one shard each) behind
// the round-robin relay, a steady event load, and two unmodified discord.js bots running all 3
// shards. One bot is connected through a node that survives, the other through the node then
// killed -9: it reconnects through the relay to a survivor and RESUMEs. Each bot gets, per shard,
// every event the sim sent, in order, none twice; the sim sees no new IDENTIFY. The truth is one
// client per shard connected straight to the sim with the bots' intents. Then a 4th node joins and
// takes a shard by hand-off, with the same checks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type RelayBackend, startTcpRelay, type TcpRelay } from '../../internal/net/tcp-relay';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { ROOT, type Running, startScript } from '../helpers/process';
import { Deployment, overlaps, type ProxyNode, waitUntil } from '../helpers/proxy-nodes';
import { assertRunOf } from '../helpers/event-run';

const SHARDS = 3;
const INTENTS = 1 | 512 | 32768; // the fixture's: Guilds, GuildMessages, MessageContent
const PER_SESSION = new Set(['READY', 'RESUMED', 'GUILD_CREATE']);

interface BotEvent {
  s: number;
  t: string;
  hash: string;
  shard: number;
}

const botEvents = (bot: Running): BotEvent[] =>
  bot.output().split('\n').filter((l) => l.startsWith('EV ')).map((l) => {
    const [, s, t, hash, shard] = l.split(' ');
    return { s: Number(s), t: t!, hash: hash!, shard: Number(shard) };
  });
const loadOf = (events: BotEvent[], shard: number) => events.filter((e) => e.shard === shard && !PER_SESSION.has(e.t)).map((e) => `${e.t} ${e.hash}`);

describe('discord.js bots across a kill -9 of one of 3 auto-sharded nodes, then a node joining (#11)', () => {
  let d: Deployment;
  let relay: TcpRelay;
  /** The relay reads this list at each new connection: the test points bots at chosen nodes. */
  const backends: RelayBackend[] = [];
  const truth: RawGatewayClient[] = [];
  const bots: Running[] = [];
  const backend = (n: ProxyNode): RelayBackend => ({ host: '127.0.0.1', port: Number(new URL(n.url).port) });

  const sent = (shard: number) => truth[shard]!.frames.filter((f) => f.op === 0 && !PER_SESSION.has(f.t!)).map((f) => `${f.t} ${createHash('sha1').update(JSON.stringify(f.d)).digest('hex')}`);
  const startBot = async (name: string) => {
    const bot = startScript(`${ROOT}/test/fixtures/discordjs-seq-bot.ts`, [`http://127.0.0.1:${relay.port}/api`]);
    bots.push(bot);
    await waitUntil(`${name}: READY on every shard`, () => new Set(botEvents(bot).filter((e) => e.t === 'READY').map((e) => e.shard)).size === SHARDS, 30_000, () => bot.output().slice(-2000));
    return bot;
  };
  /** Every shard of the bot has `more` load events past `from` (a count per shard). */
  const flowing = (bot: Running, from: number[], more: number) => () => Array.from({ length: SHARDS }, (_, s) => loadOf(botEvents(bot), s).length >= from[s]! + more).every(Boolean);
  const counts = (bot: Running) => Array.from({ length: SHARDS }, (_, s) => loadOf(botEvents(bot), s).length);
  const identifies = async () => (await d.allConnections()).flatMap((s) => s.connections.filter((c) => c.started === 'IDENTIFY')).length;

  /** Per shard: seq 1..n once, and the shard's events exactly as the sim sent them (none lost, none twice). */
  const assertExactlyOnce = async (name: string, bot: Running) => {
    const events = botEvents(bot);
    for (let shard = 0; shard < SHARDS; shard++) {
      const seqs = events.filter((e) => e.shard === shard).map((e) => e.s);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${name} shard ${shard}: seq runs 1..n with no gap and no repeat`);
      const got = loadOf(events, shard);
      await waitUntil(`the direct client of shard ${shard} caught up`, () => sent(shard).includes(got.at(-1)!), 10_000);
      assertRunOf(got, sent(shard), `${name} shard ${shard}`);
    }
  };

  before(async () => {
    const relayPort = await freePort();
    // Bots are given the relay's URL (/gateway/bot and READY's resume_gateway_url) by every node.
    d = new Deployment({ shards: SHARDS, maxConcurrency: SHARDS, identifyIntervalMs: 300, leaseSeconds: 3, guilds: 9, rate: 150, config: { 'proxy.url': `ws://127.0.0.1:${relayPort}` } });
    await d.startSim();
    for (let shard = 0; shard < SHARDS; shard++) {
      const c = new RawGatewayClient(d.simUrl.replace('http', 'ws')).heartbeat();
      truth.push(c);
      await c.next((f) => f.op === 10);
      c.identify(DEFAULT_TOKEN, { shard: [shard, SHARDS], intents: INTENTS });
      await c.dispatch('READY');
    }
    await Promise.all(['a', 'b', 'c'].map((n) => d.startNode(`node-${n}`)));
    backends.push(backend(d.nodes.get('node-a')!));
    relay = await startTcpRelay({ port: relayPort, backends });
    await waitUntil('every shard Ready, one per node', async () => (await d.allReadyOn(d.nodes.get('node-a')!, ['node-a', 'node-b', 'node-c'])) && (await d.nodeList(d.nodes.get('node-a')!)).nodes.every((n) => n.shards.length === 1), 30_000, () => d.output());
  });

  after(async () => {
    for (const bot of bots) await bot.stop('SIGKILL');
    for (const c of truth) c.terminate();
    await relay?.close();
    await d?.close();
  });

  it('a bot on a surviving node keeps its connections, a bot on the killed node RESUMEs through the relay: every event once, in order, no IDENTIFY', async () => {
    const [survivor, victim] = [d.nodes.get('node-a')!, d.nodes.get('node-c')!];
    const steady = await startBot('the bot on node-a');
    backends.splice(0, backends.length, backend(victim));
    const moving = await startBot('the bot on node-c');
    // From now on a reconnect may reach any node; the dead one refuses and is skipped.
    backends.splice(0, backends.length, ...['node-a', 'node-b', 'node-c'].map((n) => backend(d.nodes.get(n)!)));
    await waitUntil('events flow to both bots on every shard', () => flowing(steady, [0, 0, 0], 50)() && flowing(moving, [0, 0, 0], 50)(), 30_000);

    const victimShards = (await d.nodeList(survivor)).nodes.find((n) => n.name === victim.name)!.shards;
    assert.equal(victimShards.length, 1, 'the victim owns a shard: its death moves one upstream session too');
    const identifiesBefore = await identifies();
    const [steadyAt, movingAt] = [counts(steady), counts(moving)];
    const killedAt = Date.now();
    await victim.proc.stop('SIGKILL');

    await waitUntil('every shard Ready on the survivors', () => d.allReadyOn(survivor, ['node-a', 'node-b']), 15_000, () => d.output());
    const readyMs = Date.now() - killedAt;
    await waitUntil('the bot of the dead node RESUMEd every shard', () => new Set(botEvents(moving).filter((e) => e.t === 'RESUMED').map((e) => e.shard)).size === SHARDS, 30_000, () => moving.output().slice(-2000));
    await waitUntil('events flow again to both bots on every shard', () => flowing(steady, steadyAt, 60)() && flowing(moving, movingAt, 60)(), 30_000, () => d.output());

    assert.equal(await identifies(), identifiesBefore, 'the sim saw no new IDENTIFY');
    for (const s of await d.allConnections()) assert.deepEqual(overlaps(s.connections), [], `shard ${s.shard}: no overlapping upstream connections`);
    const moved = (await d.connections(victimShards[0]!)).connections.at(-1)!;
    assert.ok(moved.started === 'RESUME' && Date.parse(moved.opened_at) > killedAt, 'the dead node\'s shard was RESUMEd upstream by a survivor');

    const [steadyEvents, movingEvents] = [botEvents(steady), botEvents(moving)];
    assert.equal(steadyEvents.filter((e) => e.t === 'READY').length, SHARDS, 'the steady bot IDENTIFYed once per shard');
    // A node closes (resumably) its bots' sessions of a shard that moves to or from it, so they
    // switch between the log and its own upstream: the steady bot RESUMEs only such a shard.
    const newOwner = (await d.nodeList(survivor)).nodes.find((n) => n.shards.includes(victimShards[0]!))!.name;
    const resumedShards = (events: BotEvent[]) => [...new Set(events.filter((e) => e.t === 'RESUMED').map((e) => e.shard))].sort();
    assert.deepEqual(resumedShards(steadyEvents), newOwner === survivor.name ? victimShards : [], 'the steady bot kept its other connections');
    assert.equal(movingEvents.filter((e) => e.t === 'READY').length, SHARDS, 'the moving bot never IDENTIFYed again');
    assert.deepEqual(resumedShards(movingEvents), [0, 1, 2], 'the moving bot RESUMEd every shard');
    await assertExactlyOnce('the steady bot', steady);
    await assertExactlyOnce('the moving bot', moving);
    console.log(`kill -9 of a node under load: its shard Ready on a survivor after ${readyMs} ms (lease 3 s); both bots lost nothing`);
  });

  it('a node joining takes its share by hand-off: both bots lose nothing and see nothing twice, no IDENTIFY', async () => {
    const survivor = d.nodes.get('node-a')!;
    const [steady, moving] = bots as [Running, Running];
    const identifiesBefore = await identifies();
    const [steadyAt, movingAt] = [counts(steady), counts(moving)];
    const joinedAt = Date.now();
    const joiner = await d.startNode('node-d');
    backends.push(backend(joiner));
    await waitUntil('node-d owns a shard, Ready', async () => {
      const rows = await d.shards(survivor);
      return rows.some((r) => r.node === 'node-d') && rows.every((r) => r.status === 'Ready');
    }, 30_000, () => d.output());
    await waitUntil('events flow again to both bots on every shard', () => flowing(steady, steadyAt, 60)() && flowing(moving, movingAt, 60)(), 30_000, () => d.output());

    assert.equal(await identifies(), identifiesBefore, 'the sim saw no new IDENTIFY');
    const joined = (await d.shards(survivor)).find((r) => r.node === 'node-d')!.shard;
    const moved = (await d.connections(joined)).connections.at(-1)!;
    assert.ok(moved.started === 'RESUME' && Date.parse(moved.opened_at) > joinedAt, 'node-d RESUMEd the shard it took');
    for (const s of await d.allConnections()) assert.deepEqual(overlaps(s.connections), [], `shard ${s.shard}: no overlapping upstream connections`);
    for (const bot of bots) assert.equal(botEvents(bot).filter((e) => e.t === 'READY').length, SHARDS, 'no bot IDENTIFYed again');
    await assertExactlyOnce('the steady bot', steady);
    await assertExactlyOnce('the moving bot', moving);
  });
});
