// Discord-style REST rate limits: a bucket per route and major parameter with
// X-RateLimit-* headers, 429 with retry_after, and a global per-token limit.
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RateLimitOptions {
  /** Requests per bucket per window. */
  perBucket: number;
  windowMs: number;
  /** Requests per second across all routes (Discord: 50). */
  globalPerSecond: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitOptions = { perBucket: 50, windowMs: 1_000, globalPerSecond: 50 };

interface Window {
  start: number;
  count: number;
}

export class RestRateLimiter {
  private readonly buckets = new Map<string, Window>();
  private readonly global = new Map<string, Window>();

  constructor(private readonly options: RateLimitOptions) {}

  /** Sets the headers; answers 429 and returns false when over a limit. */
  check(req: FastifyRequest, reply: FastifyReply): boolean {
    const route = req.routeOptions.url ?? req.url;
    const major = /\/(channels|guilds|webhooks)\/(\d+)/.exec(req.url)?.[2] ?? '';
    const identity = req.headers.authorization ?? req.ip;
    const key = `${req.method} ${route} ${major} ${identity}`;
    const now = Date.now();

    const g = this.window(this.global, identity, now, 1_000);
    if (g.count >= this.options.globalPerSecond) {
      const retry = (g.start + 1_000 - now) / 1000;
      reply.header('X-RateLimit-Global', 'true').header('X-RateLimit-Scope', 'global').header('Retry-After', Math.ceil(retry));
      reply.status(429).send({ message: 'You are being rate limited.', retry_after: retry, global: true, code: 0 });
      return false;
    }
    const b = this.window(this.buckets, key, now, this.options.windowMs);
    const resetAfter = (b.start + this.options.windowMs - now) / 1000;
    const bucketId = Buffer.from(`${req.method} ${route}`).toString('base64url').slice(0, 32);
    reply
      .header('X-RateLimit-Limit', this.options.perBucket)
      .header('X-RateLimit-Remaining', Math.max(0, this.options.perBucket - b.count - 1))
      .header('X-RateLimit-Reset', ((b.start + this.options.windowMs) / 1000).toFixed(3))
      .header('X-RateLimit-Reset-After', resetAfter.toFixed(3))
      .header('X-RateLimit-Bucket', bucketId);
    if (b.count >= this.options.perBucket) {
      reply.header('X-RateLimit-Scope', 'user').header('Retry-After', Math.ceil(resetAfter));
      reply.status(429).send({ message: 'You are being rate limited.', retry_after: resetAfter, global: false, code: 0 });
      return false;
    }
    b.count++;
    g.count++;
    return true;
  }

  private window(map: Map<string, Window>, key: string, now: number, length: number): Window {
    let w = map.get(key);
    if (!w || now - w.start >= length) map.set(key, (w = { start: now, count: 0 }));
    if (map.size > 50_000) map.clear();
    return w;
  }
}
