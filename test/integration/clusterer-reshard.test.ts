// A reshard asked for while a rolling restart runs: every cluster ends up running the new shard
// count (each IDENTIFY carries [shard, count], so a cluster left on the old count would be wrong).
// Real Redis IPC; the clusters are tiny Node processes that speak the process-channel protocol.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../internal/log';
import { ActionLog } from '../../internal/ipc/action-log';
import { IpcBus } from '../../internal/ipc/bus';
import { Clusterer } from '../../internal/ipc/clusterer';
import { REDIS_URL, uniqueName } from '../helpers/services';

/** Answers diag pings and reports launch_next after 300 ms, like a cluster whose shards became ready. */
const FAKE_CLUSTER = `
const id = Number(process.env.CLUSTER_ID);
process.on('message', (m) => { if (m && m.diag) process.send({ scope: 'launcher', action: 'diag', output: { nonce: m.nonce, id, data: [] } }); });
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.send({ scope: 'launcher', action: 'launch_next', args: { id } }), 300);
`;

interface Spawned {
  cluster: number;
  shardCount: number;
  pid: number;
  exited: boolean;
}

describe('clusterer reshard', () => {
  const redis = new Redis(REDIS_URL);
  after(() => redis.quit());

  it('reshard during a rolling restart restarts every cluster with the new shard count', async () => {
    const channel = uniqueName('st_reshard');
    const logger = createLogger('test', 'silent');
    const bus = new IpcBus({ redisUrl: REDIS_URL, channel, logger, name: 'test' });
    const requester = new IpcBus({ redisUrl: REDIS_URL, channel, logger, name: 'requester' });
    await requester.start();
    const spawned: Spawned[] = [];
    const counts = [4, 6];
    const clusterer = new Clusterer({
      bus,
      actionLog: new ActionLog(bus.pub, `${channel}:action_logs`, 100),
      logger,
      spawn: ({ cluster, shardCount }) => {
        const child = spawn(process.execPath, ['-e', FAKE_CLUSTER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, CLUSTER_ID: String(cluster.id) } });
        const entry = { cluster: cluster.id, shardCount, pid: child.pid!, exited: false };
        child.once('exit', () => (entry.exited = true));
        spawned.push(entry);
        return child;
      },
      resolveShardCount: async () => counts.shift() ?? 6,
      perCluster: 2,
      names: [],
      pingIntervalMs: 200,
      pingTimeoutMs: 10_000,
      startNextDelayMs: 50,
    });
    const waitFor = async (what: string, ok: () => boolean, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(spawned)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await clusterer.start();
      await waitFor('2 clusters up', () => clusterer.statuses().filter((c) => c.state === 'up').length === 2);
      assert.ok(clusterer.requestRollingRestart('test'));
      // Cluster 0 has been restarted (on 4 shards) by the rolling restart when the reshard arrives.
      await waitFor('cluster 0 restarted', () => spawned.filter((s) => s.cluster === 0).length === 2);
      const reply = await requester.request('reshard', undefined, { scope: 'launcher', timeoutMs: 10_000 });
      assert.deepEqual(reply.output, { resharded: true, shard_count: 6, previous: 4, clusters: 3 });
      const live = () => spawned.filter((s) => !s.exited);
      await waitFor(
        'every cluster up on 6 shards',
        () => clusterer.statuses().every((c) => c.state === 'up') && live().length === 3 && live().every((s) => s.shardCount === 6),
        60_000,
      );
      assert.deepEqual(clusterer.statuses().map((c) => c.shards), [[0, 1], [2, 3], [4, 5]]);
    } finally {
      await clusterer.stop();
      await Promise.all([bus.close(), requester.close()]);
      await redis.del(`${channel}:action_logs`);
    }
  });
});
