// How a proxy node holds its shards: a fixed set (`shards: all | [a, b]`, StaticOwnership) or a
// share of the deployment's shards under leases (`shards: auto`). Also what it tells about them:
// the rows of `GET /shards` and `GET /nodes`.
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../internal/config';
import { type ShardOwnership, StaticOwnership } from '../ownership';
import { Coordinator } from './coordinator';
import { IdentifyQueue } from './identify-queue';
import { SessionBudget } from './session-budget';
import { clusterKeys } from './keys';
import { LeaseOwnership, readOwners } from './lease-ownership';
import { Membership } from './membership';
import type { ClusterMetrics } from './metrics';
import { pinShardCount } from './shard-count';
import { type ShardRow, StatusBoard } from './status-board';

export interface NodeView {
  name: string;
  url: string;
  shards: number[];
  last_seen: string;
}

export interface Cluster {
  name: string;
  ownership: ShardOwnership;
  identify: IdentifyQueue;
  /** The shards this node may run: every shard of the deployment in auto mode. */
  shardIds: number[];
  /** Every shard of the deployment (auto) or this node's (fixed set); `local` are this node's fresh rows. */
  shards(local: ShardRow[]): Promise<ShardRow[]>;
  nodes(local: number[]): Promise<{ nodes: NodeView[]; coordinator: string | null }>;
  /** Writes this node's rows for the others to read (auto mode). */
  publish(local: ShardRow[]): Promise<void>;
}

export interface ClusterOptions {
  config: Config;
  redis: Redis;
  /** From the config, else /gateway/bot's recommendation. */
  shardCount: number;
  maxConcurrency: number;
  url: string;
  metrics: ClusterMetrics;
  logger: Logger;
  /** The daily IDENTIFY budget as Discord reports it now (GET /gateway/bot); none: not checked. */
  sessionStartLimit?: () => Promise<APIGatewaySessionStartLimit>;
}

export async function createCluster(o: ClusterOptions): Promise<Cluster & { shardCount: number }> {
  const { config, redis, logger, metrics } = o;
  const prefix = config.proxy.session_key_prefix;
  const keys = clusterKeys(prefix);
  const name = config.proxy.node_name ?? `${config.proxy.host}:${config.proxy.port}`;
  const budget = o.sessionStartLimit && new SessionBudget({ redis, prefix, node: name, fetchLimit: o.sessionStartLimit, logger, remainingGauge: metrics.sessionStartsRemaining });
  const identify = new IdentifyQueue(redis, keys, name, o.maxConcurrency, config.proxy.identify_interval_ms, metrics.identifyQueueDepth, budget);
  const { shards } = config.proxy;
  if (shards !== 'auto') {
    const shardIds = shards === 'all' ? range(0, o.shardCount - 1) : range(shards[0], shards[1]);
    return {
      name, identify, shardIds, shardCount: o.shardCount,
      ownership: new StaticOwnership(redis, prefix, shardIds),
      shards: async (local) => local,
      nodes: async (local) => ({ nodes: [{ name, url: o.url, shards: local, last_seen: new Date().toISOString() }], coordinator: null }),
      publish: async () => {},
    };
  }

  const shardCount = await pinShardCount(redis, keys, o.shardCount);
  const leaseMs = config.proxy.lease_seconds * 1000;
  const membership = new Membership(redis, keys, name, o.url, leaseMs);
  const coordinator = new Coordinator({ redis, keys, membership, leaseMs, shardCount, maxConcurrency: o.maxConcurrency, logger, failoverSeconds: metrics.failoverSeconds });
  const ownership = new LeaseOwnership({ redis, prefix, keys, membership, coordinator, leaseMs, shardCount, logger, changes: metrics.ownershipChanges });
  const board = new StatusBoard(redis, prefix);
  return {
    name, identify, shardCount, ownership,
    shardIds: range(0, shardCount - 1),
    async shards(local) {
      const rows = await board.read(shardCount, await readOwners(redis, prefix, shardCount));
      for (const row of local) rows[row.shard] = row;
      return rows;
    },
    async nodes() {
      const [live, current, owners] = await Promise.all([membership.live(), redis.get(keys.coordinator), readOwners(redis, prefix, shardCount)]);
      return {
        nodes: live.map((n) => ({ name: n.name, url: n.url, shards: [...owners].filter(([, owner]) => owner.node === n.name).map(([s]) => s), last_seen: new Date(n.lastSeen).toISOString() })),
        coordinator: current,
      };
    },
    publish: (local) => board.publish(local),
  };
}

function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}
