import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** An ioredis client that reconnects forever with capped backoff and logs its transitions. */
export function createRedis(url: string, logger: Logger, name = 'redis'): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    connectionName: name,
  });
  redis.on('error', (err) => logger.warn({ err: err.message, name }, 'redis error'));
  redis.on('reconnecting', () => logger.info({ name }, 'redis reconnecting'));
  return redis;
}
