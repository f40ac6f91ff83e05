// Which shards each cluster process runs: consecutive chunks of `per_cluster`, named from the
// configured list and then generated. The shard count comes from GET /gateway/bot unless fixed.
import { REST } from '@discordjs/rest';
import { type RESTGetAPIGatewayBotResult, Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';

export interface ClusterSpec {
  id: number;
  name: string;
  shards: number[];
}

/** Cuts shards 0..shardCount-1 into clusters of `perCluster`, the last one possibly smaller. */
export function buildClusterMap(shardCount: number, perCluster: number, names: readonly string[] = []): ClusterSpec[] {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error(`shard count must be a positive integer, got ${shardCount}`);
  if (!Number.isInteger(perCluster) || perCluster < 1) throw new Error(`per_cluster must be a positive integer, got ${perCluster}`);
  const clusters: ClusterSpec[] = [];
  const used = new Set<string>();
  for (let first = 0, id = 0; first < shardCount; first += perCluster, id++) {
    const shards: number[] = [];
    for (let s = first; s < Math.min(first + perCluster, shardCount); s++) shards.push(s);
    const name = uniqueClusterName(names[id] ?? `Cluster ${id}`, used);
    used.add(name);
    clusters.push({ id, name, shards });
  }
  return clusters;
}

function uniqueClusterName(wanted: string, used: Set<string>): string {
  if (!used.has(wanted)) return wanted;
  for (let n = 2; ; n++) if (!used.has(`${wanted} ${n}`)) return `${wanted} ${n}`;
}

export interface ShardCountOptions {
  apiUrl: string;
  token: string;
  fixedShardCount: number;
  minimumSafeSessionsRemaining: number;
  logger: Logger;
  /** Waits `ms`; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  /** GET /gateway/bot; tests pass a fake. */
  fetchGatewayBot?: () => Promise<RESTGetAPIGatewayBotResult>;
}

export function gatewayBotFetcher(apiUrl: string, token: string): () => Promise<RESTGetAPIGatewayBotResult> {
  const rest = new REST({ api: apiUrl, retries: 2, timeout: 10_000 }).setToken(token);
  return async () => (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
}

/**
 * The shard count to run: the fixed one, or Discord's recommendation. Either way the session
 * start limit is checked first: with fewer than the safe minimum remaining we wait for the reset
 * rather than burn the last identifies (which would lock the bot out for the rest of the day).
 */
export async function resolveShardCount(options: ShardCountOptions): Promise<number> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const fetchGatewayBot = options.fetchGatewayBot ?? gatewayBotFetcher(options.apiUrl, options.token);
  for (;;) {
    const info = await fetchGatewayBot();
    const limit = info.session_start_limit;
    if (limit && limit.remaining < options.minimumSafeSessionsRemaining) {
      options.logger.warn(
        { remaining: limit.remaining, total: limit.total, reset_after_ms: limit.reset_after, minimum: options.minimumSafeSessionsRemaining },
        'session start limit nearly used up; waiting for its reset before launching clusters',
      );
      await sleep(Math.max(limit.reset_after, 1_000));
      continue;
    }
    const count = options.fixedShardCount > 0 ? options.fixedShardCount : info.shards;
    if (!Number.isInteger(count) || count < 1) throw new Error(`GET /gateway/bot recommended ${String(info.shards)} shards`);
    return count;
  }
}
