// Downstream (bot) sessions in Redis, as positions in their shard's log (shard-log.ts), so a
// RESUME works after a proxy restart and on any node. Keys (under the session key prefix):
//   downstream:<id>          hash: shard, intents, large_threshold, guilds (JSON ids the session was told it holds),
//                            holder (the process serving it last: another one's copy is stale)
//   downstream:<id>:anchors  sorted set: member `<seq> <log id>`, score seq
// An anchor says: after the session's event `seq`, its next events are the log's entries after
// `log id` that its intents let through, numbered on from seq+1. Anchors are written once a
// second while events flow, and at once after an event that is not in the log (READY, RESUMED,
// a member chunk), which would shift the numbering. A RESUME with seq N starts at the last
// anchor at or below N. Both keys expire `ttlSeconds` after the last write; connected sessions
// are touched well before that.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DEFAULT_LARGE_THRESHOLD } from '../internal/gateway/guild-create';

export interface StoredSession {
  shard: number;
  intents: number;
  /** IDENTIFY's, for the GUILD_CREATEs rendered for the session. */
  largeThreshold: number;
  guilds: string[];
  /** Oldest first. */
  anchors: { seq: number; id: string }[];
}

/** Anchors kept per session: at one a second, minutes of history. */
const KEEP_ANCHORS = 256;

interface Pending {
  meta?: Omit<StoredSession, 'anchors'>;
  anchors: { seq: number; id: string }[];
}

export class DownstreamStore {
  private readonly pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    tickMs = 100,
  ) {
    this.timer = setInterval(() => void this.flush(), tickMs);
    this.timer.unref();
  }

  save(id: string, meta: Omit<StoredSession, 'anchors'>): void {
    this.entry(id).meta = meta;
  }

  anchor(id: string, seq: number, logId: string): void {
    this.entry(id).anchors.push({ seq, id: logId });
  }

  /** Keeps a connected session from expiring. */
  touch(id: string): void {
    this.entry(id);
  }

  async load(id: string): Promise<StoredSession | undefined> {
    const [meta, anchors] = await Promise.all([this.redis.hgetall(this.key(id)), this.redis.zrange(this.anchorsKey(id), '0', '-1')]);
    const shard = Number(meta.shard);
    const intents = Number(meta.intents);
    if (!Number.isInteger(shard) || !Number.isInteger(intents)) return undefined;
    let guilds: unknown;
    try {
      guilds = JSON.parse(meta.guilds ?? '[]');
    } catch {
      return undefined;
    }
    if (!Array.isArray(guilds) || !guilds.every((g) => typeof g === 'string')) return undefined;
    const parsed = anchors.map((m) => m.split(' ')).map(([seq, logId]) => ({ seq: Number(seq), id: logId ?? '' }));
    // Sessions stored before large_threshold was: IDENTIFY's default.
    const largeThreshold = meta.large_threshold === undefined ? DEFAULT_LARGE_THRESHOLD : Number(meta.large_threshold);
    return { shard, intents, largeThreshold, guilds, anchors: parsed.filter((a) => Number.isInteger(a.seq) && /^\d+-\d+$/.test(a.id)).sort((a, b) => a.seq - b.seq) };
  }

  /** Records which process serves the session now (at once: a RESUME elsewhere checks it). */
  async claim(id: string, holder: string): Promise<void> {
    await this.redis.multi().hset(this.key(id), 'holder', holder).expire(this.key(id), this.ttlSeconds).exec();
  }

  async holder(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key(id), 'holder')) ?? undefined;
  }

  drop(id: string): void {
    this.pending.delete(id);
    this.redis.del(this.key(id), this.anchorsKey(id)).catch((err: Error) => this.logger.warn({ err: err.message }, 'forgetting a downstream session failed; it expires'));
  }

  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    const pipeline = this.redis.pipeline();
    for (const [id, p] of batch) {
      if (p.meta) pipeline.hset(this.key(id), { shard: p.meta.shard, intents: p.meta.intents, large_threshold: p.meta.largeThreshold, guilds: JSON.stringify(p.meta.guilds) });
      if (p.anchors.length) {
        pipeline.zadd(this.anchorsKey(id), ...p.anchors.flatMap((a) => [a.seq, `${a.seq} ${a.id}`]));
        pipeline.zremrangebyrank(this.anchorsKey(id), 0, -KEEP_ANCHORS - 1);
      }
      pipeline.expire(this.key(id), this.ttlSeconds);
      pipeline.expire(this.anchorsKey(id), this.ttlSeconds);
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0]!;
    } catch (err) {
      // Put back what is not superseded; anchors keep their order.
      for (const [id, p] of batch) {
        const now = this.pending.get(id);
        this.pending.set(id, { meta: now?.meta ?? p.meta, anchors: [...p.anchors, ...(now?.anchors ?? [])] });
      }
      this.logger.warn({ err: (err as Error).message, sessions: batch.length }, 'persisting downstream sessions failed; retrying');
    }
  }

  private entry(id: string): Pending {
    let p = this.pending.get(id);
    if (!p) this.pending.set(id, (p = { anchors: [] }));
    return p;
  }

  private key(id: string): string {
    return `${this.prefix}downstream:${id}`;
  }

  private anchorsKey(id: string): string {
    return `${this.prefix}downstream:${id}:anchors`;
  }
}
