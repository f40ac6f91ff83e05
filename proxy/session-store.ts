// Upstream sessions (session_id, seq, resume_gateway_url) per shard, kept in memory for the
// event path and written to Redis once per tick, so a restart or a takeover loses at most one
// tick of sequence numbers, which RESUME replays. Every write is fenced: a Lua script compares
// the shard's epoch in Redis with the epoch this node took the shard under, so a node that lost
// the shard (paused past its lease, partitioned) can no longer write its session.
import type { SessionInfo } from '@discordjs/ws';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { shardKeys } from './ownership';

// KEYS: epoch, sessions hash. ARGV: epoch, shard, JSON ('' deletes). 1 = written, 0 = fenced.
// A missing epoch means Redis lost its data (restarted without persistence): nobody took the
// shard since, so the writer's epoch is put back, which keeps later INCRs above it.
const FENCED_WRITE = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then redis.call('SET', KEYS[1], ARGV[1]) elseif epoch ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
return 1`;

export class SessionStore {
  private readonly sessions = new Map<number, SessionInfo>();
  /** Shards this node writes for, with the epoch it took each under. */
  private readonly epochs = new Map<number, number>();
  private readonly dirty = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** `holds`: the shard is still under lease by this node's clock (else nothing is even tried); `lose`: a write was refused. */
    private readonly owner: { holds(shard: number): boolean; lose(shard: number): void },
    private readonly tickMs = 250,
  ) {
    this.timer = setInterval(() => void this.flush(), this.tickMs);
    this.timer.unref();
  }

  private get key(): string {
    return `${this.prefix}sessions`;
  }

  /** Starts writing for `shard` under `epoch`, from what its last owner persisted. */
  async take(shard: number, epoch: number): Promise<SessionInfo | null> {
    const json = await this.redis.hget(this.key, String(shard));
    let info: SessionInfo | null = null;
    try {
      info = json ? (JSON.parse(json) as SessionInfo) : null;
    } catch {
      this.logger.warn({ shard }, 'ignoring an unreadable persisted session');
    }
    this.epochs.set(shard, epoch);
    if (info) this.sessions.set(shard, info);
    else this.sessions.delete(shard);
    return info;
  }

  get(shard: number): SessionInfo | null {
    return this.sessions.get(shard) ?? null;
  }

  /** Ignored for a shard this node does not write for (released, or never taken). */
  set(shard: number, info: SessionInfo | null): void {
    if (!this.epochs.has(shard)) return;
    if (info) this.sessions.set(shard, info);
    else this.sessions.delete(shard);
    this.dirty.add(shard);
  }

  /** Writes the shard's session now (a hand-off), then stops writing for it. */
  async persistAndForget(shard: number): Promise<void> {
    this.dirty.add(shard);
    await this.flush([shard]);
    this.forget(shard);
  }

  /** Stops writing for `shard` without a last write (the shard was lost). */
  forget(shard: number): void {
    this.epochs.delete(shard);
    this.dirty.delete(shard);
    this.sessions.delete(shard);
  }

  all(): Map<number, SessionInfo> {
    return this.sessions;
  }

  async flush(only?: number[]): Promise<void> {
    const shards = (only ?? [...this.dirty]).filter((s) => this.dirty.has(s) && this.epochs.has(s) && this.owner.holds(s));
    if (shards.length === 0) return;
    for (const s of shards) this.dirty.delete(s);
    const pipeline = this.redis.pipeline();
    for (const shard of shards) {
      const info = this.sessions.get(shard);
      pipeline.eval(FENCED_WRITE, 2, shardKeys(this.prefix, shard).epoch, this.key, this.epochs.get(shard)!, shard, info ? JSON.stringify(info) : '');
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      shards.forEach((shard, i) => {
        const [err, written] = results[i] ?? [new Error('no reply')];
        if (err) throw err;
        if (Number(written) === 1 || !this.epochs.has(shard)) return;
        this.logger.warn({ shard, epoch: this.epochs.get(shard) }, 'session write refused: the shard has a newer owner');
        this.forget(shard);
        this.owner.lose(shard);
      });
    } catch (err) {
      for (const shard of shards) if (this.epochs.has(shard)) this.dirty.add(shard);
      this.logger.warn({ err: (err as Error).message }, 'persisting sessions failed; retrying next tick');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
