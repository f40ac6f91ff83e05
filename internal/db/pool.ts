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
  // A client losing its connection emits 'error'; unheard, that ends the process. The pool only
  // listens while a client is idle, and a checked-out one (pool.connect()) gets Postgres' "terminating
  // connection" or the socket's end between or after its queries, so every client gets a listener
  // of its own for its whole life. The failed query rejects anyway, and the pool drops the client
  // on release since it is no longer queryable.
  pool.on('connect', (client) => client.on('error', (err) => logger.warn({ err: err.message }, 'postgres connection lost')));
  // Required so the pool's own re-emit of an idle client's error is heard; the client's listener logged it.
  pool.on('error', () => {});
  return pool;
}

/** Runs `work` in one transaction on a client of its own: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Creates the database named in `url` when it does not exist yet (first start on a new machine). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  // A connection lost here fails the awaited call below; unheard, its 'error' event would end the process.
  client.on('error', () => {});
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
