import pg from 'pg';
import type { Logger } from 'pino';

export type Pool = pg.Pool;

export interface PoolOptions {
  max?: number;
  /** Waiting for a connection (or a free pool slot) fails after this, so callers never hang on a dead server. */
  connectTimeoutMs?: number;
  /** A query with no answer after this fails (a server that is stopped, not just down). */
  queryTimeoutMs?: number;
}

export function createPool(url: string, logger: Logger, { max = 10, connectTimeoutMs = 3_000, queryTimeoutMs = 10_000 }: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: connectTimeoutMs, query_timeout: queryTimeoutMs, keepAlive: true });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  return pool;
}

// SQLSTATE classes and socket errors that mean "Postgres is not reachable now", as opposed to a
// query Postgres refused: 08 connection exception, 57P01-03 shutting down / starting up, 53300 too many connections.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable/;

/** True when `err` says Postgres could not be reached (retry later), not that a query was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  return UNAVAILABLE_MESSAGES.test(err.message);
}

/** Creates the database named in `url` when it does not exist yet (first start on a new machine). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`create database "${name.replaceAll('"', '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile by another service
      });
    }
  } finally {
    await client.end();
  }
}
