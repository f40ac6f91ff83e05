// The deployment's shard count is fixed once, by the first node that starts: nodes whose config
// or /gateway/bot would say otherwise still shard the same way as the rest.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys';

export async function pinShardCount(redis: Redis, keys: ClusterKeys, proposed: number): Promise<number> {
  await redis.set(keys.shardCount, String(proposed), 'NX');
  const pinned = Number(await redis.get(keys.shardCount));
  if (!Number.isInteger(pinned) || pinned < 1) throw new Error(`${keys.shardCount} holds no shard count; delete it to pin ${proposed}`);
  return pinned;
}
