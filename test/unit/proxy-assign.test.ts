// The coordinator's assignment rule (proxy/cluster/assign.ts): least-loaded first, identify
// buckets spread, and only the shards that must move move.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignShards } from '../../proxy/cluster/assign';

const sizes = (a: Map<number, string>) => {
  const counts = new Map<string, number>();
  for (const node of a.values()) counts.set(node, (counts.get(node) ?? 0) + 1);
  return Object.fromEntries([...counts].sort());
};
const moved = (before: Map<number, string>, after: Map<number, string>) => [...after].filter(([s, n]) => before.get(s) !== n).map(([s]) => s);

describe('assignShards', () => {
  it('a cold start of 16 shards over 3 nodes gives 6/5/5', () => {
    const a = assignShards(new Map(), ['a', 'b', 'c'], 16, 1);
    assert.equal(a.size, 16);
    assert.deepEqual(Object.values(sizes(a)).sort(), [5, 5, 6]);
  });

  it('spreads identify buckets: with max_concurrency 4, each of 2 nodes gets one shard of every bucket per 4', () => {
    const a = assignShards(new Map(), ['a', 'b'], 8, 4);
    for (const node of ['a', 'b']) {
      const buckets = [...a].filter(([, n]) => n === node).map(([s]) => s % 4).sort();
      assert.deepEqual(buckets, [0, 1, 2, 3], `node ${node}`);
    }
  });

  it('a joining node takes shares only from nodes over theirs', () => {
    const before = assignShards(new Map(), ['a', 'b', 'c'], 16, 1);
    const after = assignShards(before, ['a', 'b', 'c', 'd'], 16, 1);
    assert.deepEqual(sizes(after), { a: 4, b: 4, c: 4, d: 4 });
    assert.equal(moved(before, after).length, 4, 'only the 4 shards d takes move');
    assert.ok(moved(before, after).every((s) => after.get(s) === 'd'));
  });

  it("a dead node's shards go to the survivors, the least loaded first; the rest stay", () => {
    const before = new Map<number, string>([[0, 'a'], [1, 'a'], [2, 'a'], [3, 'b'], [4, 'c'], [5, 'c'], [6, 'c']]);
    const after = assignShards(before, ['a', 'b'], 7, 7);
    assert.deepEqual(moved(before, after).sort(), [4, 5, 6]);
    assert.equal(after.get(4), 'b', 'the first free shard goes to the least-loaded node');
    // The node already holding more keeps the larger share: fewer moves.
    assert.deepEqual(sizes(after), { a: 4, b: 3 });
  });

  it('is stable: a balanced assignment stays as it is; no live node, no assignment', () => {
    const a = assignShards(new Map(), ['a', 'b', 'c'], 16, 2);
    assert.deepEqual(assignShards(a, ['a', 'b', 'c'], 16, 2), a);
    assert.equal(assignShards(a, [], 16, 2).size, 0);
  });
});
