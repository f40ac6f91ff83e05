// The clusterer's action log: a capped Redis LIST (newest first), written with LPUSH + LTRIM and
// read with LRANGE. (mewld wrote it with SET and read it with LRANGE, so it never read back.)
import type { Redis } from 'ioredis';

export interface ActionLogEntry {
  ts: string;
  action: string;
  cluster_id?: number;
  reason?: string;
  [key: string]: unknown;
}

export class ActionLog {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly max: number,
  ) {}

  async add(entry: { action: string; cluster_id?: number; reason?: string; [key: string]: unknown }): Promise<ActionLogEntry> {
    const full: ActionLogEntry = { ...entry, ts: new Date().toISOString() };
    await this.redis.multi().lpush(this.key, JSON.stringify(full)).ltrim(this.key, 0, this.max - 1).exec();
    return full;
  }

  /** Newest first; entries that are not JSON (written by something else) are skipped. */
  async list(limit = this.max): Promise<ActionLogEntry[]> {
    const raw = await this.redis.lrange(this.key, 0, Math.max(0, Math.min(limit, this.max) - 1));
    const entries: ActionLogEntry[] = [];
    for (const item of raw) {
      try {
        const value = JSON.parse(item) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) entries.push(value as ActionLogEntry);
      } catch {
        // not ours
      }
    }
    return entries;
  }
}
