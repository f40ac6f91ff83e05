// Upstream sessions (session_id, seq, resume_gateway_url) per shard, kept in memory for the
// event path and written to Redis once per tick, so a restart loses at most one tick of
// sequence numbers, which RESUME replays.
import type { SessionInfo } from '@discordjs/ws';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export class SessionStore {
  private readonly sessions = new Map<number, SessionInfo>();
  private readonly dirty = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private frozen = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly logger: Logger,
    private readonly tickMs = 250,
  ) {}

  /** Loads what an earlier run persisted, then starts the flush tick. */
  async load(): Promise<number> {
    const all = await this.redis.hgetall(this.key);
    for (const [shard, json] of Object.entries(all)) {
      try {
        this.sessions.set(Number(shard), JSON.parse(json) as SessionInfo);
      } catch {
        this.logger.warn({ shard }, 'ignoring an unreadable persisted session');
      }
    }
    this.timer = setInterval(() => void this.flush(), this.tickMs);
    this.timer.unref();
    return this.sessions.size;
  }

  get(shardId: number): SessionInfo | null {
    return this.sessions.get(shardId) ?? null;
  }

  /** From now on changes are ignored: a shutdown must not erase the sessions it leaves resumable. */
  freeze(): void {
    this.frozen = true;
  }

  set(shardId: number, info: SessionInfo | null): void {
    if (this.frozen) return;
    if (info) this.sessions.set(shardId, info);
    else this.sessions.delete(shardId);
    this.dirty.add(shardId);
  }

  all(): Map<number, SessionInfo> {
    return this.sessions;
  }

  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const shards = [...this.dirty];
    this.dirty.clear();
    const pipeline = this.redis.pipeline();
    for (const shard of shards) {
      const info = this.sessions.get(shard);
      if (info) pipeline.hset(this.key, String(shard), JSON.stringify(info));
      else pipeline.hdel(this.key, String(shard));
    }
    try {
      await pipeline.exec();
    } catch (err) {
      for (const shard of shards) this.dirty.add(shard);
      this.logger.warn({ err: (err as Error).message }, 'persisting sessions failed; retrying next tick');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
