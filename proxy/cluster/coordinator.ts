// One node, elected by a lease (SET NX PX, renewed while it lives), writes the assignment
// shard -> node that every node follows. Its writes are a compare-and-set on the lease, so a
// coordinator that was paused past its lease cannot overwrite its successor's plan.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { assignShards } from './assign';
import type { ClusterKeys } from './keys';
import type { Membership } from './membership';

// 1 = still ours (renewed), 2 = newly ours, 0 = another node's.
const ELECT = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;

const WRITE_ASSIGNMENT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1`;

const RESIGN = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface CoordinatorOptions {
  redis: Redis;
  keys: ClusterKeys;
  membership: Membership;
  leaseMs: number;
  shardCount: number;
  maxConcurrency: number;
  logger: Logger;
  /** Seconds from a dead node's last heartbeat to the reassignment of its shards. */
  failoverSeconds: Histogram;
}

export class Coordinator {
  private electedAt: number | undefined;

  constructor(private readonly o: CoordinatorOptions) {}

  get isCoordinator(): boolean {
    return this.electedAt !== undefined;
  }

  async tick(): Promise<void> {
    const { redis, keys, membership, leaseMs, logger } = this.o;
    const elected = Number(await redis.eval(ELECT, 1, keys.coordinator, membership.name, leaseMs));
    if (elected === 0) {
      this.electedAt = undefined;
      return;
    }
    if (elected === 2 || this.electedAt === undefined) {
      this.electedAt = Date.now();
      logger.info({ node: membership.name }, 'elected coordinator');
    }
    const { live, dead } = await membership.members();
    const current = new Map(Object.entries(await redis.hgetall(keys.assignment)).map(([shard, node]) => [Number(shard), node]));
    const liveNames = new Set(live.map((n) => n.name));
    // A running deployment is reassigned at once; a cold start waits one lease period so that
    // nodes starting together are all counted before the first assignment.
    const running = [...current.values()].some((node) => liveNames.has(node));
    if (!running && Date.now() - this.electedAt < leaseMs) return;

    const next = assignShards(current, live.map((n) => n.name), this.o.shardCount, this.o.maxConcurrency);
    const changes = [...next].filter(([shard, node]) => current.get(shard) !== node);
    if (changes.length > 0) {
      if (Number(await redis.eval(WRITE_ASSIGNMENT, 2, keys.coordinator, keys.assignment, membership.name, ...changes.flat().map(String))) !== 1) {
        this.electedAt = undefined;
        return;
      }
      logger.info({ moved: changes.length, nodes: live.map((n) => n.name), dead: dead.map((n) => n.name) }, 'shards assigned');
    }
    // A dead node that held shards: from its last heartbeat to their reassignment.
    const held = new Set(current.values());
    for (const n of dead) if (held.has(n.name)) this.o.failoverSeconds.observe((Date.now() - n.lastSeen) / 1000);
    await membership.forget(dead.map((n) => n.name));
  }

  async resign(): Promise<void> {
    if (this.electedAt === undefined) return;
    this.electedAt = undefined;
    await this.o.redis.eval(RESIGN, 1, this.o.keys.coordinator, this.o.membership.name);
  }
}
