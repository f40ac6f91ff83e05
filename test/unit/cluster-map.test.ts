import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { buildClusterMap, resolveShardCount } from '../../internal/ipc/cluster-map';

const logger = pino({ level: 'silent' });
const gatewayBot = (shards: number, remaining = 1000, resetAfter = 1234) => ({
  url: 'ws://x',
  shards,
  session_start_limit: { total: 1000, remaining, reset_after: resetAfter, max_concurrency: 1 },
});

describe('buildClusterMap', () => {
  it('cuts shards into consecutive chunks of per_cluster, the last one smaller', () => {
    assert.deepEqual(buildClusterMap(5, 2, ['Alpha', 'Bravo']), [
      { id: 0, name: 'Alpha', shards: [0, 1] },
      { id: 1, name: 'Bravo', shards: [2, 3] },
      { id: 2, name: 'Cluster 2', shards: [4] },
    ]);
  });

  it('one cluster when per_cluster covers every shard; names never repeat', () => {
    assert.deepEqual(buildClusterMap(3, 10), [{ id: 0, name: 'Cluster 0', shards: [0, 1, 2] }]);
    assert.deepEqual(
      buildClusterMap(3, 1, ['A', 'A', 'Cluster 2']).map((c) => c.name),
      ['A', 'A 2', 'Cluster 2'],
    );
  });

  it('every shard exactly once, in order', () => {
    for (const [count, per] of [[1, 1], [16, 3], [100, 7], [4, 4]] as const) {
      const shards = buildClusterMap(count, per).flatMap((c) => c.shards);
      assert.deepEqual(shards, [...Array(count).keys()]);
    }
  });

  it('rejects a zero shard count or per_cluster', () => {
    assert.throws(() => buildClusterMap(0, 2), /shard count must be a positive integer, got 0/);
    assert.throws(() => buildClusterMap(4, 0), /per_cluster must be a positive integer, got 0/);
  });
});

describe('resolveShardCount', () => {
  it('uses the recommendation, or the fixed count', async () => {
    const base = { apiUrl: 'http://x/api', token: 't', minimumSafeSessionsRemaining: 5, logger };
    assert.equal(await resolveShardCount({ ...base, fixedShardCount: 0, fetchGatewayBot: async () => gatewayBot(6) }), 6);
    assert.equal(await resolveShardCount({ ...base, fixedShardCount: 4, fetchGatewayBot: async () => gatewayBot(6) }), 4);
  });

  it('waits for reset_after when fewer sessions than the safe minimum remain', async () => {
    const answers = [gatewayBot(2, 3, 4321), gatewayBot(2, 1000)];
    const slept: number[] = [];
    const count = await resolveShardCount({
      apiUrl: 'http://x/api',
      token: 't',
      fixedShardCount: 0,
      minimumSafeSessionsRemaining: 5,
      logger,
      sleep: async (ms) => void slept.push(ms),
      fetchGatewayBot: async () => answers.shift()!,
    });
    assert.equal(count, 2);
    assert.deepEqual(slept, [4321]);
  });
});
