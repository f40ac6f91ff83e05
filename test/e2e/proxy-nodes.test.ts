// Issue #11, upstream side: several `splashtail proxy` nodes with `shards: auto` share 16 shards
// of one bot through Redis. Counted on the wire by the sim's per-shard connection log, not by the
// proxies: cold start spreads 5/5/6 within Discord's identify limit; kill -9 moves a dead node's
// shards by RESUME within 15 s; a node paused past its lease drops its shards without stealing
// them back; a joining node and a SIGTERMed one move shards by hand-off, never by IDENTIFY.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Deployment, overlaps, type ProxyNode, sleep, waitUntil } from '../helpers/proxy-nodes';

const SHARDS = 16;
const INTERVAL_MS = 300;
const LEASE_SECONDS = 10;

describe('proxy nodes: shards shared by leases, moved by RESUME (#11)', () => {
  const d = new Deployment({ shards: SHARDS, maxConcurrency: 1, identifyIntervalMs: INTERVAL_MS, leaseSeconds: LEASE_SECONDS, rate: 40 });
  let via: ProxyNode;
  const identifies = async () => (await d.allConnections()).flatMap((s) => s.connections.filter((c) => c.started === 'IDENTIFY'));
  const owners = async () => {
    const rows = await d.shards(via);
    return new Map(rows.map((r) => [r.shard, r.node]));
  };
  const live = () => [...d.nodes.values()].filter((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null);
  /** Why a shard IDENTIFYed again: its connections on the sim and every node's log lines about it. */
  const identifiedSince = async (since: number) => {
    const fresh = (await d.allConnections()).filter((s) => s.connections.some((c) => c.started === 'IDENTIFY' && Date.parse(c.opened_at) >= since));
    const lines = [...d.nodes.values()].flatMap((n) => n.proc.output().split('\n').filter((l) => fresh.some((s) => l.includes(`"shard":${s.shard},`))).map((l) => `${n.name}: ${l}`));
    return `no new IDENTIFY; these shards IDENTIFYed: ${JSON.stringify(fresh)}\n${lines.join('\n')}`;
  };

  before(async () => {
    await d.startSim();
    await Promise.all(['a', 'b', 'c'].map((n) => d.startNode(`node-${n}`)));
    via = d.nodes.get('node-a')!;
  });

  after(() => d.close());

  it('cold start: 3 nodes take 5/5/6 shards, IDENTIFYs never closer than the limit, none refused', async () => {
    await waitUntil('every shard Ready', () => d.allReadyOn(via, ['node-a', 'node-b', 'node-c']), 90_000, () => d.output());
    const { nodes, coordinator } = await d.nodeList(via);
    assert.deepEqual(nodes.map((n) => n.name), ['node-a', 'node-b', 'node-c']);
    assert.ok(coordinator && nodes.some((n) => n.name === coordinator), `coordinator ${coordinator} is a live node`);
    assert.deepEqual(nodes.map((n) => n.shards.length).sort(), [5, 5, 6]);
    for (const n of nodes) assert.ok(Date.now() - Date.parse(n.last_seen) < LEASE_SECONDS * 1000, `${n.name} heartbeats`);

    const all = await d.allConnections();
    assert.equal(all.reduce((sum, s) => sum + s.identifies_refused, 0), 0, 'the sim refused no IDENTIFY (the shared queue kept the limit)');
    const times = (await identifies()).map((c) => Date.parse(c.opened_at)).sort((a, b) => a - b);
    assert.equal(times.length, SHARDS, 'one IDENTIFY per shard');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(Math.min(...gaps) >= INTERVAL_MS, `identify spacing ${Math.min(...gaps)} ms >= ${INTERVAL_MS} ms (max_concurrency 1)`);
    for (const s of all) assert.deepEqual(overlaps(s.connections), [], `shard ${s.shard}: no overlapping connections`);
    // The coordinator waited one lease for all three nodes: no shard had to move after its IDENTIFY.
    for (const s of all) assert.equal(s.connections.length, 1, `shard ${s.shard}: one connection since the cold start`);
  });

  it('kill -9 of the coordinator: within 15 s every shard is Ready on the survivors, by RESUME only', async () => {
    const { coordinator } = await d.nodeList(via);
    const victim = d.nodes.get(coordinator!)!;
    const before = await owners();
    const moved = [...before].filter(([, node]) => node === victim.name).map(([s]) => s);
    const identifiesBefore = (await identifies()).length;
    via = live().find((n) => n !== victim)!;

    const killedAt = Date.now();
    await victim.proc.stop('SIGKILL');
    const survivors = live().map((n) => n.name).sort();
    // Before its lease expires, the dead node's shards are no longer reported Ready.
    await waitUntil('the dead node\'s shards reported Unknown', async () => (await d.shards(via)).filter((r) => moved.includes(r.shard)).every((r) => r.status === 'Unknown'), 8_000, () => d.output());
    await waitUntil('every shard Ready on the survivors', () => d.allReadyOn(via, survivors), 15_000, () => d.output());
    const tookMs = Date.now() - killedAt;

    assert.equal((await identifies()).length, identifiesBefore, await identifiedSince(killedAt));
    for (const shard of moved) {
      const { connections } = await d.connections(shard);
      const last = connections.at(-1)!;
      assert.equal(last.started, 'RESUME', `shard ${shard} was RESUMEd`);
      assert.ok(Date.parse(last.opened_at) > killedAt && last.closed_at === null, `shard ${shard}: the new owner's connection is live`);
      assert.deepEqual(overlaps(connections), []);
    }
    const { nodes, coordinator: next } = await d.nodeList(via);
    assert.deepEqual(nodes.map((n) => n.name), survivors);
    assert.ok(next && survivors.includes(next), 'a survivor coordinates');
    assert.deepEqual(nodes.map((n) => n.shards.length).sort(), [8, 8]);
    /** The sum of a metric's samples whose line has `label` (Prometheus text format). */
    const metric = (text: string, name: string, label = '') =>
      text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).filter((l) => l.includes(label)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const texts = new Map(await Promise.all(survivors.map(async (n) => [n, await (await fetch(`${d.nodes.get(n)!.url}/metrics`)).text()] as const)));
    assert.equal(metric(texts.get(next)!, 'proxy_failover_seconds_count'), 1, 'the coordinator timed one failover');
    const acquired = [...texts.values()].reduce((sum, t) => sum + metric(t, 'proxy_shard_ownership_changes_total', 'change="acquired"'), 0);
    assert.ok(acquired >= SHARDS, `ownership changes counted (${acquired} acquired)`);
    console.log(`failover of ${moved.length} shards after kill -9: ${tookMs} ms (lease ${LEASE_SECONDS} s)`);
  });

  it('SIGSTOP past the lease: the shards move; after SIGCONT the node drops them without writing or reconnecting', async () => {
    const [paused, other] = live();
    const identifiesBefore = (await identifies()).length;
    const moved = [...(await owners())].filter(([, node]) => node === paused!.name).map(([s]) => s);
    via = other!;
    paused!.proc.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitUntil('the paused node\'s shards Ready on the other', () => d.allReadyOn(via, [other!.name]), 30_000, () => d.output());
    const takenOver = new Map(await Promise.all(moved.map(async (s) => [s, (await d.connections(s)).connections.at(-1)!] as const)));
    for (const [shard, c] of takenOver) assert.ok(c.started === 'RESUME' && Date.parse(c.opened_at) > stoppedAt, `shard ${shard} resumed by ${other!.name}`);

    paused!.proc.child.kill('SIGCONT');
    const resumedAt = Date.now();
    await waitUntil('the woken node noticed it lost its shards', () => moved.every((s) => paused!.proc.output().includes(`"shard":${s},"msg":"lost the shard`)), 10_000, () => d.output());
    assert.doesNotMatch(paused!.proc.output(), /session write refused/, 'the woken node did not even try to write a lost shard\'s session');
    // Whatever the woken node does next (it is live again and gets a share back by hand-off),
    // it never takes a session by force: no connection of a moved shard is replaced (4000) from now on.
    await sleep(3_000);
    for (const shard of moved) {
      const { connections } = await d.connections(shard);
      const after = connections.filter((c) => c.closed_at && Date.parse(c.closed_at) >= resumedAt);
      assert.deepEqual(after.filter((c) => c.close_code === 4000), [], `shard ${shard}: no session stolen after SIGCONT`);
      assert.deepEqual(overlaps(connections), [], `shard ${shard}: no overlapping live connections`);
    }
    await waitUntil('the woken node is back with a share', async () => (await d.nodeList(via)).nodes.every((n) => n.shards.length === 8), 30_000, () => d.output());
    await waitUntil('every shard Ready', () => d.allReadyOn(via, [paused!.name, other!.name]), 30_000, () => d.output());
    assert.equal((await identifies()).length, identifiesBefore, 'no new IDENTIFY: the woken node opened no session of its own either');
  });

  it('a joining node takes its share by hand-off (close 4200, RESUME), with no IDENTIFY', async () => {
    const identifiesBefore = (await identifies()).length;
    const joinedAt = Date.now();
    const joining = await d.startNode('node-d');
    await waitUntil('the new node holds its share, all Ready', async () => {
      const { nodes } = await d.nodeList(via);
      return nodes.length === 3 && nodes.every((n) => n.shards.length >= 5) && (await d.allReadyOn(via, live().map((n) => n.name)));
    }, 60_000, () => d.output());
    const taken = [...(await owners())].filter(([, node]) => node === joining.name).map(([s]) => s);
    assert.ok(taken.length >= 5 && taken.length <= 6, `node-d holds ${taken.length}`);
    assert.equal((await identifies()).length, identifiesBefore, 'no new IDENTIFY');
    for (const shard of taken) {
      const { connections } = await d.connections(shard);
      const recent = connections.filter((c) => Date.parse(c.opened_at) > joinedAt);
      assert.equal(recent.length, 1, `shard ${shard}: one new connection`);
      assert.equal(recent[0]!.started, 'RESUME');
      const previous = connections[connections.indexOf(recent[0]!) - 1]!;
      assert.equal(previous.close_code, 4200, `shard ${shard}: the old owner closed resumably before the new one resumed`);
      assert.deepEqual(overlaps(connections), []);
    }
  });

  it('SIGTERM drains: the node hands every shard off and exits 0, with no IDENTIFY', async () => {
    const identifiesBefore = (await identifies()).length;
    const leaving = d.nodes.get('node-d')!;
    via = live().find((n) => n !== leaving)!;
    const moved = [...(await owners())].filter(([, node]) => node === leaving.name).map(([s]) => s);
    const stoppedAt = Date.now();
    assert.equal(await leaving.proc.stop('SIGTERM'), 0);
    const tookMs = await waitUntil('every shard Ready on the others', () => d.allReadyOn(via, live().map((n) => n.name)), 30_000, () => d.output());
    assert.ok(Date.now() - stoppedAt < LEASE_SECONDS * 1000, `handed off in ${Date.now() - stoppedAt} ms, sooner than a lease`);
    assert.equal((await identifies()).length, identifiesBefore, await identifiedSince(stoppedAt));
    for (const shard of moved) {
      const { connections } = await d.connections(shard);
      const [previous, last] = connections.slice(-2);
      assert.equal(previous!.close_code, 4200, `shard ${shard}: closed resumably by the leaving node`);
      assert.equal(last!.started, 'RESUME');
    }
    console.log(`SIGTERM hand-off of ${moved.length} shards: ready ${tookMs} ms after exit`);
  });

  it('a node killed and restarted under its name takes its shards back before its leases expire', async () => {
    const identifiesBefore = (await identifies()).length;
    // Which nodes are still up depends on the coordinator killed earlier: take two live ones.
    const [victim, other] = live();
    via = other!;
    const names = live().map((n) => n.name);
    const held = [...(await owners())].filter(([, node]) => node === victim!.name).map(([s]) => s);
    const killedAt = Date.now();
    await victim!.proc.stop('SIGKILL');
    await d.startNode(victim!.name);
    await waitUntil('every shard Ready again', () => d.allReadyOn(via, names), LEASE_SECONDS * 1000, () => d.output());
    const tookMs = Date.now() - killedAt;
    assert.deepEqual([...(await owners())].filter(([, node]) => node === victim!.name).map(([s]) => s), held, 'the same shards');
    assert.equal((await identifies()).length, identifiesBefore, 'no new IDENTIFY');
    console.log(`kill -9 and restart of a node: its ${held.length} shards Ready again after ${tookMs} ms`);
  });
});
