// Failover of a multi-node proxy deployment (3 nodes, `shards: auto`, 16 shards, Discord's
// identify limit: max_concurrency 1, 5 s): kill -9 of the coordinator until every shard is
// Ready on the survivors (session stealing: RESUME), beside the identify floor of the same
// shards measured in the same run (the sim invalidates their sessions, so they IDENTIFY
// through the shared queue, one per 5 s).
import { Deployment, type ProxyNode, waitUntil } from '../test/helpers/proxy-nodes';
import { report } from './lib';

const SHARDS = 16;
const INTERVAL_MS = 5_000;
const LEASE_SECONDS = 10;

async function main() {
  const d = new Deployment({ shards: SHARDS, maxConcurrency: 1, identifyIntervalMs: INTERVAL_MS, leaseSeconds: LEASE_SECONDS, guilds: 64, rate: 50 });
  try {
    await d.startSim();
    await Promise.all(['a', 'b', 'c'].map((n) => d.startNode(`node-${n}`)));
    let via: ProxyNode = d.nodes.get('node-a')!;
    await waitUntil('cold start', () => d.allReadyOn(via, ['node-a', 'node-b', 'node-c']), 300_000, () => d.output());

    const { coordinator } = await d.nodeList(via);
    const victim = d.nodes.get(coordinator!)!;
    const moved = (await d.shards(via)).filter((r) => r.node === victim.name).map((r) => r.shard);
    const survivors = [...d.nodes.values()].filter((n) => n !== victim);
    via = survivors[0]!;
    const failoverMs = await (async () => {
      const killed = Date.now();
      await victim.proc.stop('SIGKILL');
      await waitUntil('failover', () => d.allReadyOn(via, survivors.map((n) => n.name)), 120_000, () => d.output());
      return Date.now() - killed;
    })();
    const identifies = async () => (await Promise.all(moved.map((s) => d.connections(s)))).flatMap((c) => c.connections.filter((x) => x.started === 'IDENTIFY')).length;
    const before = await identifies();

    // The same shards the slow way: Discord says their sessions are invalid, so they IDENTIFY.
    const started = Date.now();
    await Promise.all(moved.map((s) => fetch(`${d.simUrl}/_sim/shards/${s}/invalid-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resumable":false}' })));
    await waitUntil('re-identified', async () => (await identifies()) === before + moved.length && (await d.allReadyOn(via, survivors.map((n) => n.name))), 300_000, () => d.output());
    const identifyMs = Date.now() - started;

    report(`failover (kill -9), ${moved.length} of ${SHARDS} shards`, `${(failoverMs / 1000).toFixed(2)} s (lease ${LEASE_SECONDS} s)`,
      `identify floor of those shards ${(identifyMs / 1000).toFixed(2)} s measured (${moved.length - 1} x 5 s = ${((moved.length - 1) * INTERVAL_MS) / 1000} s)`);
  } finally {
    await d.close();
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
