// Discord's identify limits, shared by the sim (which enforces them) and anything that must
// respect them: one IDENTIFY per `shard_id % max_concurrency` bucket per interval (5 s on
// Discord), and a daily session-start budget (`session_start_limit`). RESUMEs count for neither.
const DAY_MS = 86_400_000;

export interface SessionStartLimit {
  total: number;
  remaining: number;
  reset_after: number;
  max_concurrency: number;
}

export class IdentifyLimiter {
  private readonly lastIdentify = new Map<number, number>();
  private remaining: number;
  private resetAt: number;

  constructor(
    readonly maxConcurrency: number,
    readonly intervalMs: number,
    readonly total = 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error(`max_concurrency must be a positive integer, got ${maxConcurrency}`);
    this.remaining = total;
    this.resetAt = now() + DAY_MS;
  }

  bucketOf(shardId: number): number {
    return shardId % this.maxConcurrency;
  }

  /** Milliseconds until the shard's bucket may identify again (0 = now). */
  waitMs(shardId: number): number {
    const last = this.lastIdentify.get(this.bucketOf(shardId));
    return last === undefined ? 0 : Math.max(0, last + this.intervalMs - this.now());
  }

  /**
   * Records an identify for the shard's bucket. False when the bucket's interval has not
   * passed or the daily budget is spent: Discord then answers op 9 INVALID_SESSION false.
   */
  tryIdentify(shardId: number): boolean {
    this.refill();
    if (this.remaining <= 0 || this.waitMs(shardId) > 0) return false;
    this.lastIdentify.set(this.bucketOf(shardId), this.now());
    this.remaining--;
    return true;
  }

  /** For a queueing client: resolves when the shard's bucket is free and takes the slot. */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.tryIdentify(shardId)) return;
      const wait = this.remaining <= 0 ? Math.max(1, this.resetAt - this.now()) : Math.max(1, this.waitMs(shardId));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, wait);
        signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    }
  }

  sessionStartLimit(): SessionStartLimit {
    this.refill();
    return {
      total: this.total,
      remaining: this.remaining,
      reset_after: Math.max(0, this.resetAt - this.now()),
      max_concurrency: this.maxConcurrency,
    };
  }

  private refill(): void {
    if (this.now() < this.resetAt) return;
    this.remaining = this.total;
    this.resetAt = this.now() + DAY_MS;
  }
}
