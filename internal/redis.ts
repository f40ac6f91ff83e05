import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisOptions {
  /**
   * Commands fail at once while the connection is down (and after `commandTimeoutMs` when Redis
   * hangs) instead of waiting in ioredis's offline queue: for callers that must never block on an
   * outage (IPC requests, the clusterer's action log). Subscribers keep the default, so they
   * resubscribe by themselves after a reconnect.
   */
  failFast?: boolean;
  commandTimeoutMs?: number;
}

/** An ioredis client that reconnects forever with capped backoff and logs its transitions. */
export function createRedis(url: string, logger: Logger, name = 'redis', options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    ...(options.failFast ? { commandTimeout: options.commandTimeoutMs ?? 2_000 } : {}),
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    connectionName: name,
  });
  redis.on('error', (err) => logger.warn({ err: err.message, name }, 'redis error'));
  redis.on('reconnecting', () => logger.info({ name }, 'redis reconnecting'));
  return redis;
}
