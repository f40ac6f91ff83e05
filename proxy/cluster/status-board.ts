// What every node reports about its shards, so `GET /shards` on any node lists every shard of
// the deployment: each node writes its own shards' rows once per tick (hash `shard_status`,
// field = shard), stamped with its name, epoch and time; a reader keeps the row whose epoch is
// the shard's current owner's, and calls it `Unknown` once it is too old (its node stopped
// reporting: dead or paused, its lease not yet expired).
import type { Redis } from 'ioredis';

/** Rows are written every second; one this old means its node stopped reporting. */
const STALE_MS = 5_000;

export interface ShardRow {
  shard: number;
  status: string;
  latency: number | null;
  identifies: number;
  resumes: number;
  guilds: number;
  node: string | null;
  epoch: number | null;
  seq: number | null;
}

export class StatusBoard {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}shard_status`;
  }

  async publish(rows: ShardRow[]): Promise<void> {
    if (rows.length === 0) return;
    const at = Date.now();
    await this.redis.hset(this.key, Object.fromEntries(rows.map((r) => [String(r.shard), JSON.stringify({ ...r, at })])));
  }

  /** Every shard 0..count-1; a shard whose current owner has not reported yet is `Unowned`. */
  async read(shardCount: number, owners: Map<number, { node: string; epoch: number }>): Promise<ShardRow[]> {
    const raw = await this.redis.hgetall(this.key);
    return Array.from({ length: shardCount }, (_, shard) => {
      const owner = owners.get(shard);
      const { at, ...row } = parseRow(raw[String(shard)]) ?? { at: 0 };
      if (owner && 'shard' in row && row.epoch === owner.epoch) return Date.now() - at > STALE_MS ? { ...row, status: 'Unknown' } : row;
      return { shard, status: 'Unowned', latency: null, identifies: 0, resumes: 0, guilds: 0, node: owner?.node ?? null, epoch: owner?.epoch ?? null, seq: null };
    });
  }
}

function parseRow(json: string | undefined): (ShardRow & { at: number }) | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as ShardRow & { at: number };
  } catch {
    return undefined;
  }
}
