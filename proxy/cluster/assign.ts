// The coordinator's rule (G's): every shard goes to a live node, the least-loaded first, with
// each node's shards spread over the identify buckets (shard % max_concurrency) so a node's
// IDENTIFYs can run in parallel. Shards stay where they are unless their node died or a node
// holds more than its share (a node joined): only those move.

/** The next assignment shard -> node for `shardCount` shards over the `live` nodes. */
export function assignShards(current: ReadonlyMap<number, string>, live: readonly string[], shardCount: number, maxConcurrency: number): Map<number, string> {
  const next = new Map<number, string>();
  if (live.length === 0) return next;
  const bucket = (shard: number) => shard % maxConcurrency;
  const held = new Map<string, number[]>(live.map((n) => [n, []]));
  for (let shard = 0; shard < shardCount; shard++) {
    const node = current.get(shard);
    if (node !== undefined) held.get(node)?.push(shard);
  }

  // Shares differ by at most one; the nodes holding the most keep the larger shares (fewer moves).
  const base = Math.floor(shardCount / live.length);
  const byLoad = [...live].sort((a, b) => held.get(b)!.length - held.get(a)!.length || a.localeCompare(b));
  const target = new Map(byLoad.map((n, i) => [n, base + (i < shardCount % live.length ? 1 : 0)]));

  const free: number[] = [];
  for (const [node, shards] of held) {
    // A node over its share gives up the shards whose bucket it holds most often.
    while (shards.length > target.get(node)!) {
      const counts = bucketCounts(shards, bucket);
      shards.sort((a, b) => counts.get(bucket(b))! - counts.get(bucket(a))! || b - a);
      free.push(shards.shift()!);
    }
  }
  const assigned = new Set([...held.values()].flat());
  for (let shard = 0; shard < shardCount; shard++) if (!assigned.has(shard) && !free.includes(shard)) free.push(shard);

  for (const shard of free.sort((a, b) => a - b)) {
    const node = [...held.keys()]
      .filter((n) => held.get(n)!.length < target.get(n)!)
      .sort((a, b) => {
        const [ha, hb] = [held.get(a)!, held.get(b)!];
        return ha.length - hb.length || ha.filter((s) => bucket(s) === bucket(shard)).length - hb.filter((s) => bucket(s) === bucket(shard)).length || a.localeCompare(b);
      })[0]!;
    held.get(node)!.push(shard);
  }
  for (const [node, shards] of held) for (const shard of shards) next.set(shard, node);
  return next;
}

function bucketCounts(shards: number[], bucket: (shard: number) => number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const s of shards) counts.set(bucket(s), (counts.get(bucket(s)) ?? 0) + 1);
  return counts;
}
