// Rate limits of the API, per IP and per user, in Redis so every webserver shares them: fixed
// windows counted with INCR. Answers carry Discord's headers (X-RateLimit-*), and a refusal is
// 429 `{error, code: "rate_limited", retry_after, global}` with Retry-After, as Discord's are.
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { within } from './dependency';

export interface Limit {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export interface Verdict {
  ok: boolean;
  scope: 'ip' | 'user';
  limit: number;
  remaining: number;
  resetAfterMs: number;
}

export function rateLimiter(redis: Redis, prefix: string) {
  return async (scope: 'ip' | 'user', key: string, { limit, windowMs }: Limit, now = Date.now()): Promise<Verdict> => {
    const window = Math.floor(now / windowMs);
    const redisKey = `${prefix}rl:${scope}:${key}:${window}`;
    const [[, count]] = (await within('Redis', redis.multi().incr(redisKey).pexpire(redisKey, windowMs + 1_000).exec())) as [[unknown, number]];
    const resetAfterMs = (window + 1) * windowMs - now;
    return { ok: count <= limit, scope, limit, remaining: Math.max(0, limit - count), resetAfterMs };
  };
}

/** Discord's headers for a verdict; on a refusal, the 429 body too. */
export function applyVerdict(reply: FastifyReply, v: Verdict, now = Date.now()) {
  const resetAfter = v.resetAfterMs / 1000;
  reply.header('x-ratelimit-limit', v.limit)
    .header('x-ratelimit-remaining', v.remaining)
    .header('x-ratelimit-reset', ((now + v.resetAfterMs) / 1000).toFixed(3))
    .header('x-ratelimit-reset-after', resetAfter.toFixed(3))
    .header('x-ratelimit-bucket', v.scope);
  if (v.ok) return undefined;
  reply.header('x-ratelimit-scope', v.scope).header('retry-after', Math.ceil(resetAfter));
  return reply.status(429).send({ error: `You are being rate limited (per ${v.scope}).`, code: 'rate_limited', retry_after: Number(resetAfter.toFixed(3)), global: false });
}
