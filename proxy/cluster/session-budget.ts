// The bot's daily IDENTIFY budget (session_start_limit: 1000 a day for most bots). Discord counts
// it across every shard and node; spending it all gets the bot's sessions ended and its token
// reset, so no node IDENTIFYs past it. Right before each IDENTIFY (its bucket slot already taken)
// a start is granted from the budget Discord last reported (GET /gateway/bot), kept in Redis for
// every node of the deployment, or from a fresh answer; a spent budget waits for its reset.
// RESUMEs do not count.
//
// Discord's answer lags the starts just granted (their IDENTIFYs are still on the wire), so each
// grant is recorded in Redis for IN_FLIGHT_MS and subtracted from every fresh answer: two shards,
// on one node or two, never both take the last start.
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

/** A reported budget younger than this is trusted (minus the starts granted since). */
const FRESH_MS = 10_000;
/** How long after its grant a start may still be missing from Discord's answer. */
const IN_FLIGHT_MS = 10_000;
/** How long a spent budget waits before asking again (at most; less when the reset is sooner). */
const RECHECK_MS = 60_000;

// KEYS: budget hash {remaining, at}, grants zset (score: when the grant stops counting as in flight).
// ARGV: now, fresh_ms, grant id, in_flight_ms. Grants one start from a fresh budget: 1, else 0.
const TAKE_KNOWN = `
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0')
if tonumber(ARGV[1]) - at >= tonumber(ARGV[2]) or remaining <= 0 then return 0 end
redis.call('HSET', KEYS[1], 'remaining', remaining - 1)
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`;

// Same KEYS; ARGV: now, Discord's remaining, grant id, in_flight_ms, fresh_ms. Stores Discord's
// answer less the starts still in flight; grants one if any is left. Returns {granted, left, oldest
// in-flight grant's expiry or 0}.
const TAKE_REPORTED = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local left = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[2])
local granted = 0
if left > 0 then
  granted = 1
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('HSET', KEYS[1], 'at', now, 'remaining', left - granted)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {granted, left, tonumber(oldest[2] or '0')}`;

export type BudgetVerdict = { granted: true } | { granted: false; retryInMs: number };

export class SessionBudget {
  private grants = 0;

  constructor(
    private readonly o: {
      redis: Redis;
      /** The deployment's key prefix (`proxy.session_key_prefix`). */
      prefix: string;
      node: string;
      fetchLimit: () => Promise<APIGatewaySessionStartLimit>;
      logger: Logger;
      remainingGauge: Gauge;
      now?: () => number;
    },
  ) {}

  /** One start for an IDENTIFY about to be sent, or how long to wait before asking again. */
  async tryTake(): Promise<BudgetVerdict> {
    const { redis, prefix, logger } = this.o;
    const keys = [`${prefix}session_budget`, `${prefix}session_starts`];
    const grant = `${this.o.node} ${++this.grants}`;
    const now = this.o.now?.() ?? Date.now();
    if (Number(await redis.eval(TAKE_KNOWN, 2, ...keys, now, FRESH_MS, grant, IN_FLIGHT_MS)) === 1) return { granted: true };
    let limit: APIGatewaySessionStartLimit;
    try {
      limit = await this.o.fetchLimit();
    } catch (err) {
      // Discord unreachable: the IDENTIFY itself will fail or succeed; the budget is asked again next time.
      logger.warn({ err: (err as Error).message }, 'session start limit unknown (GET /gateway/bot failed); identifying anyway');
      return { granted: true };
    }
    const [granted, left, oldest] = (await redis.eval(TAKE_REPORTED, 2, ...keys, now, limit.remaining, grant, IN_FLIGHT_MS, FRESH_MS)) as number[];
    this.o.remainingGauge.set(Math.max(0, left! - granted!));
    if (granted === 1) return { granted: true };
    // What Discord still offers may be starts just granted whose IDENTIFYs it has not counted yet.
    if (limit.remaining > 0) return { granted: false, retryInMs: Math.max(100, oldest! - now) };
    logger.error({ total: limit.total, reset_after_ms: limit.reset_after }, 'the daily session start limit is spent: no IDENTIFY until it resets');
    return { granted: false, retryInMs: Math.min(RECHECK_MS, Math.max(1_000, limit.reset_after)) };
  }
}
