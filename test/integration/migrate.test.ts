import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { migrate } from '../../internal/db/migrate';
import type { Migration } from '../../internal/db/migrations';
import { createPool, type Pool } from '../../internal/db/pool';
import { createTestDatabase } from '../helpers/services';

const good: Migration[] = [
  { id: 1, name: 'widgets', sql: 'create table widgets (id serial primary key, name text not null)' },
  { id: 2, name: 'widget_color', sql: "alter table widgets add column color text not null default 'red'" },
];

describe('migrations (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, pino({ level: 'silent' }));
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('applies in order, and a second run is a no-op', async () => {
    assert.deepEqual(await migrate(pool, good), ['widgets', 'widget_color']);
    await pool.query("insert into widgets (name) values ('a')");
    assert.deepEqual(await migrate(pool, good), []);
    const { rows } = await pool.query('select id, name from splashtail_migrations order by id');
    assert.deepEqual(rows, [{ id: 1, name: 'widgets' }, { id: 2, name: 'widget_color' }]);
    assert.equal((await pool.query('select count(*)::int as n from widgets')).rows[0].n, 1);
  });

  it('a failed migration leaves nothing half applied', async () => {
    const broken: Migration = {
      id: 3,
      name: 'half',
      sql: 'create table gadgets (id int); alter table widgets add column size int; select no_such_function()',
    };
    await assert.rejects(migrate(pool, [...good, broken]), /migration 3 \(half\) failed: function no_such_function\(\) does not exist/);
    const tables = await pool.query("select 1 from information_schema.tables where table_name = 'gadgets'");
    assert.equal(tables.rowCount, 0);
    const cols = await pool.query("select 1 from information_schema.columns where table_name = 'widgets' and column_name = 'size'");
    assert.equal(cols.rowCount, 0);
    const ledger = await pool.query('select 1 from splashtail_migrations where id = 3');
    assert.equal(ledger.rowCount, 0);
  });

  it('two services starting at once migrate exactly once', async () => {
    const other = await createTestDatabase();
    const p1 = createPool(other.url, pino({ level: 'silent' }));
    const p2 = createPool(other.url, pino({ level: 'silent' }));
    try {
      const [a, b] = await Promise.all([migrate(p1, good), migrate(p2, good)]);
      assert.equal(a.length + b.length, 2);
    } finally {
      await p1.end();
      await p2.end();
      await other.drop();
    }
  });
});
