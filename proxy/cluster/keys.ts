// The Redis keys of a multi-node deployment (`proxy.shards: auto`), all under
// `proxy.session_key_prefix`. Per-shard keys (owner lease, fencing epoch) are `shardKeys` in
// ../ownership.ts.
export function clusterKeys(prefix: string) {
  return {
    /** Hash node name -> its last heartbeat (ms); a name is live while its `node` key exists. */
    nodes: `${prefix}nodes`,
    /** A node's heartbeat lease: JSON {url, last_seen}, expiring after `lease_seconds`. */
    node: (name: string) => `${prefix}node:${name}`,
    /** The coordinator lease: the elected node's name. */
    coordinator: `${prefix}coordinator`,
    /** Hash shard -> node name: the coordinator's plan, which each node follows. */
    assignment: `${prefix}assignment`,
    /** The deployment's shard count, fixed by the first node that starts. */
    shardCount: `${prefix}shard_count`,
    /** One key per identify bucket, alive for one identify interval after an IDENTIFY. */
    identify: (bucket: number) => `${prefix}identify:${bucket}`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;
