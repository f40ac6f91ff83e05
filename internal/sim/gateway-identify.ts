// Discord's identify limits: one IDENTIFY per `shard_id % max_concurrency` bucket per
// interval, and a daily session start budget that resets.
const DAY_MS = 86_400_000;

export class IdentifyLimiter {
  private readonly lastIdentify = new Map<number, number>();
  private remaining: number;
  private resetAt = Date.now() + DAY_MS;

  constructor(
    private readonly maxConcurrency: number,
    private readonly intervalMs: number,
    private readonly total: number,
  ) {
    this.remaining = total;
  }

  /** Records an identify for the shard's bucket; false when the bucket or the budget is spent. */
  tryIdentify(shardId: number, now = Date.now()): boolean {
    if (now >= this.resetAt) {
      this.remaining = this.total;
      this.resetAt = now + DAY_MS;
    }
    const bucket = shardId % this.maxConcurrency;
    const last = this.lastIdentify.get(bucket);
    if (this.remaining <= 0 || (last !== undefined && now - last < this.intervalMs)) return false;
    this.lastIdentify.set(bucket, now);
    this.remaining--;
    return true;
  }

  sessionStartLimit() {
    return {
      total: this.total,
      remaining: this.remaining,
      reset_after: Math.max(0, this.resetAt - Date.now()),
      max_concurrency: this.maxConcurrency,
    };
  }
}
