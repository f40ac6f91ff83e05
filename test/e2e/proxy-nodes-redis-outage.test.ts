// Issue #11, a Redis outage longer than a lease in `shards: auto` (a PRIVATE Redis, paused with
// SIGSTOP: unreachable, its data kept). A node that cannot renew its leases fences itself on
// its own clock: within the lease it closes its shards' upstream connections resumably and opens
// none while Redis is away (another node, seeing the leases expire, could take them). When Redis
// answers again it takes its shards back and RESUMEs them: no IDENTIFY, no overlapping
// connections, counted by the sim's connection log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type PrivateService, privateRedis } from '../helpers/private-services';
import { Deployment, overlaps, type ProxyNode, sleep, waitUntil } from '../helpers/proxy-nodes';

const SHARDS = 2;
const LEASE_SECONDS = 2;

describe('proxy nodes: a Redis outage longer than a lease (#11)', () => {
  let redis: PrivateService;
  let d: Deployment;
  let node: ProxyNode;
  const identifies = async () => (await d.allConnections()).flatMap((s) => s.connections.filter((c) => c.started === 'IDENTIFY')).length;

  before(async () => {
    redis = await privateRedis();
    await redis.start();
    d = new Deployment({ shards: SHARDS, maxConcurrency: SHARDS, identifyIntervalMs: 300, leaseSeconds: LEASE_SECONDS, rate: 40, config: { 'meta.redis_url': redis.url } });
    await d.startSim();
    node = await d.startNode('node-a');
    await waitUntil('every shard Ready', () => d.allReadyOn(node, ['node-a']), 30_000, () => d.output());
  });

  after(async () => {
    redis?.resume();
    await d?.close();
    await redis?.remove();
  });

  it('the node drops its shards within the lease, opens nothing while Redis is away, and RESUMEs them when it is back', async () => {
    const identifiesBefore = await identifies();
    redis.pause();
    const pausedAt = Date.now();
    const droppedMs = await waitUntil('every upstream connection closed', async () => (await d.allConnections()).every((s) => s.connections.every((c) => c.closed_at !== null)), LEASE_SECONDS * 1000 + 2_000, () => d.output());
    for (const s of await d.allConnections()) assert.equal(s.connections.at(-1)!.close_code, 4200, `shard ${s.shard}: closed resumably`);
    for (let shard = 0; shard < SHARDS; shard++) assert.match(node.proc.output(), new RegExp(`"shard":${shard},"msg":"lost the shard`));

    // Longer than another lease: the node must not reconnect a shard it holds no lease for.
    await sleep(LEASE_SECONDS * 1000 + 1_000);
    for (const s of await d.allConnections()) assert.ok(s.connections.every((c) => Date.parse(c.opened_at) < pausedAt), `shard ${s.shard}: no connection opened during the outage`);

    redis.resume();
    const resumedAt = Date.now();
    const backMs = await waitUntil('every shard Ready again', () => d.allReadyOn(node, ['node-a']), 20_000, () => d.output());
    assert.equal(await identifies(), identifiesBefore, 'no new IDENTIFY');
    for (const s of await d.allConnections()) {
      const last = s.connections.at(-1)!;
      assert.ok(last.started === 'RESUME' && Date.parse(last.opened_at) >= resumedAt && last.closed_at === null, `shard ${s.shard}: RESUMEd after Redis came back`);
      assert.deepEqual(overlaps(s.connections), [], `shard ${s.shard}: no overlapping connections`);
    }
    console.log(`Redis paused: shards dropped after ${droppedMs} ms (lease ${LEASE_SECONDS} s); Redis back: Ready again after ${backMs} ms, by RESUME`);
  });
});
