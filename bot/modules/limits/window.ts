// The sliding windows of the limits, in Redis so that any cluster taking over a guild continues
// its counts. One sorted set per (guild, rule, user): members are audit entry ids (a redelivered
// event is not counted twice), scores the entry's own time (an event delivered late after a
// takeover still falls in the window it happened in). Entries are handled concurrently and may
// reach Redis out of order, so a hit counts the fullest window holding its entry, wherever the
// entry sits in it.
//
// Redis down: the cluster counts in its own memory instead (same rules: entry ids, entry times)
// and claims punishments there. A guild is handled by one cluster at a time, so a raid is still
// stopped; what is lost is only the count of a guild taken over during the outage, and what the
// memory counted is not carried back to Redis.
import type { Redis } from 'ioredis';

const MIN_CLAIM_S = 60;
const MAX_LOCAL_KEYS = 10_000;

export class LimitWindows {
  private readonly local = new Map<string, { windowMs: number; entries: Map<string, number> }>();
  private readonly localClaims = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly onFallback: (err: Error) => void = () => {},
  ) {}

  /** Records the entry and returns the most entries any window of `seconds` holding it has. */
  async hit(guildId: string, ruleId: number, userId: string, entryId: string, at: number, seconds: number): Promise<number> {
    const key = `${this.prefix}:limits:window:${guildId}:${ruleId}:${userId}`;
    const windowMs = seconds * 1000;
    try {
      const result = await this.redis
        .multi()
        .zadd(key, at, entryId)
        .zremrangebyscore(key, '-inf', Date.now() - windowMs * 2)
        .zrangebyscore(key, at - windowMs + 1, at + windowMs - 1, 'WITHSCORES')
        .pexpire(key, windowMs * 2)
        .exec();
      const near = result?.[2];
      if (!near || near[0]) throw new Error(`limit window not counted: ${near?.[0]?.message ?? 'transaction aborted'}`);
      const pairs = near[1] as string[];
      return fullestWindow(pairs.filter((_, i) => i % 2 === 1).map(Number), at, windowMs);
    } catch (err) {
      this.onFallback(err as Error);
      return this.hitLocal(key, entryId, at, windowMs);
    }
  }

  /**
   * True for the one caller (of any cluster) that punishes this user for this burst. The claim
   * outlives short windows: under a raid a punishment can wait seconds behind the REST limits,
   * and the raider's entries meanwhile must not queue a second one.
   */
  async claimPunishment(guildId: string, userId: string, windowSeconds: number): Promise<boolean> {
    const key = `${this.prefix}:limits:punished:${guildId}:${userId}`;
    const seconds = Math.max(windowSeconds, MIN_CLAIM_S);
    try {
      return (await this.redis.set(key, '1', 'PX', seconds * 1000, 'NX')) === 'OK';
    } catch (err) {
      this.onFallback(err as Error);
      const now = Date.now();
      if ((this.localClaims.get(key) ?? 0) > now) return false;
      this.localClaims.set(key, now + seconds * 1000);
      return true;
    }
  }

  private hitLocal(key: string, entryId: string, at: number, windowMs: number): number {
    // A long outage must not grow the maps without end: drop whole windows and claims gone stale.
    if (this.local.size > MAX_LOCAL_KEYS) this.sweep();
    const window = this.local.get(key) ?? { windowMs, entries: new Map<string, number>() };
    this.local.set(key, window);
    const { entries } = window;
    entries.set(entryId, at);
    const oldest = Date.now() - windowMs * 2;
    const near: number[] = [];
    for (const [id, time] of entries) {
      if (time < oldest) entries.delete(id);
      else if (time > at - windowMs && time < at + windowMs) near.push(time);
    }
    if (entries.size === 0) this.local.delete(key);
    return fullestWindow(near.sort((x, y) => x - y), at, windowMs);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, { windowMs, entries }] of this.local) if (Math.max(...entries.values()) < now - windowMs * 2) this.local.delete(key);
    for (const [key, until] of this.localClaims) if (until <= now) this.localClaims.delete(key);
  }
}

/**
 * The most entries in one window of `windowMs` that holds `at`, given the entry times within
 * `windowMs` of it, ascending. A fullest window can always start at an entry: only those are tried.
 */
export function fullestWindow(times: number[], at: number, windowMs: number): number {
  let most = 0;
  let end = 0;
  for (let start = 0; start < times.length && times[start]! <= at; start++) {
    while (end < times.length && times[end]! < times[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}
