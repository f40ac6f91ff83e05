// The bot cluster's Postgres pool (guild settings, moderation cases): small (meta.postgres_pool_max)
// since many clusters share one server. Migrated at start, under the migration lock; the cluster
// waits for that (bounded) before it logs in, so the first command and audit entry find their
// tables. A bot without Postgres still runs its other commands: the migration is retried until it
// lands, and meanwhile the commands that need it answer with an error.
import type { Logger } from 'pino';
import type { Config } from '../internal/config';
import { migrate } from '../internal/db/migrate';
import { createPool, ensureDatabase, type Pool } from '../internal/db/pool';

const RETRY_MS = 5_000;

export interface BotDatabase {
  pool: Pool;
  /** Resolves once the tables exist (or the database was closed first). */
  migrated: Promise<void>;
  close(): Promise<void>;
}

export function openBotDatabase(config: Config, logger: Logger): BotDatabase {
  const pool = createPool(config.meta.postgres_url, logger, { max: config.meta.postgres_pool_max });
  let closed = false;
  const migrated = (async () => {
    for (;;) {
      try {
        const applied = await ensureDatabase(config.meta.postgres_url).then(() => migrate(pool));
        logger.info({ applied }, 'postgres ready');
        return;
      } catch (err) {
        if (closed) return;
        logger.warn({ err: (err as Error).message, retry_ms: RETRY_MS }, 'postgres not migrated; settings and cases unavailable until it is');
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  })();
  const close = () => {
    closed = true;
    return pool.end();
  };
  return { pool, migrated, close };
}
