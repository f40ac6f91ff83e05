// Ordered SQL migrations, each in its own transaction with its ledger row written first,
// under an advisory lock so two starting services never migrate at once.
import type pg from 'pg';
import { migrations as defaultMigrations, type Migration } from './migrations';

const LOCK_ID = 0x5e1a5;

export async function migrate(pool: pg.Pool, migrations: Migration[] = defaultMigrations): Promise<string[]> {
  const applied: string[] = [];
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`create table if not exists splashtail_migrations (
      id integer primary key, name text not null, applied_at timestamptz not null default now())`);
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      await client.query('begin');
      try {
        const inserted = await client.query(
          'insert into splashtail_migrations (id, name) values ($1, $2) on conflict (id) do nothing',
          [m.id, m.name],
        );
        if (inserted.rowCount === 1) {
          await client.query(m.sql);
          applied.push(m.name);
        }
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_ID]).catch(() => {});
    client.release();
  }
  return applied;
}
