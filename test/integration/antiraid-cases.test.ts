// Cases and guild settings on real Postgres (migrated like a bot cluster does it): case numbers per
// guild without gaps or duplicates under concurrent use, and concurrent settings edits all kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { limitsSettings } from '../../bot/modules/limits/settings';
import { getCase, listCases, openCase, openPendingCase } from '../../bot/modules/moderation/cases';
import { SettingsStore } from '../../bot/modules/settings-store';
import { migrate } from '../../internal/db/migrate';
import { createPool, type Pool } from '../../internal/db/pool';
import { createTestDatabase } from '../helpers/services';

describe('antiraid cases and settings (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, pino({ level: 'silent' }), { max: 8 });
    await migrate(pool);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('numbers cases per guild without gaps under concurrent inserts', async () => {
    const guilds = ['100000000000000001', '100000000000000002'];
    const made = await Promise.all(
      Array.from({ length: 60 }, (_, i) => openCase(pool, { guild_id: guilds[i % 2]!, action: 'warn', actor_id: '200000000000000001', target_id: `3000000000000000${10 + i}`, reason: `r${i}` })),
    );
    for (const guild of guilds) {
      const numbers = made.filter((c) => c.guild_id === guild).map((c) => c.number).sort((a, b) => a - b);
      assert.deepEqual(numbers, Array.from({ length: 30 }, (_, i) => i + 1), guild);
    }
    const one = made.find((c) => c.reason === 'r7')!;
    assert.deepEqual(await getCase(pool, one.guild_id, one.number), one);
  });

  it('a pending case written twice, or by two writers at once, is one case and takes one number', async () => {
    const guild = '100000000000000009';
    const pendingCase = (id: string) => ({ guild_id: guild, action: 'ban' as const, actor_id: '200000000000000001', target_id: '300000000000000099', pending_id: id });
    const first = await openPendingCase(pool, pendingCase('p-1'));
    const again = await openPendingCase(pool, pendingCase('p-1'));
    assert.deepEqual([first.created, again.created], [true, false]);
    assert.deepEqual(again.case, first.case);
    const racing = await Promise.all(Array.from({ length: 8 }, () => openPendingCase(pool, pendingCase('p-2'))));
    assert.equal(racing.filter((r) => r.created).length, 1, 'one writer created it');
    const next = await openCase(pool, { guild_id: guild, action: 'warn', actor_id: '200000000000000001', target_id: '300000000000000098' });
    assert.deepEqual((await listCases(pool, guild)).map((c) => c.number).reverse(), [1, 2, 3], 'no number taken by a repeated write');
    assert.equal(next.number, 3);
  });

  it('a failed insert leaves no gap', async () => {
    const guild = '100000000000000003';
    await openCase(pool, { guild_id: guild, action: 'kick', actor_id: '1', target_id: '2' });
    // The table's check refuses an unknown state: the counter bump is rolled back with the insert.
    await assert.rejects(openCase(pool, { guild_id: guild, action: 'kick', actor_id: '1', target_id: '2', state: 'bogus' as 'failed' }));
    assert.equal((await openCase(pool, { guild_id: guild, action: 'ban', actor_id: '1', target_id: '2' })).number, 2);
  });

  it('keeps every one of concurrent settings edits', async () => {
    const store = new SettingsStore(pool);
    const guild = '100000000000000004';
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.update(guild, 'limits', limitsSettings, (s) => ({ ...s, next_rule_id: s.next_rule_id + 1, rules: [...s.rules, { id: s.next_rule_id, kind: 'channel_delete' as const, count: i + 1, seconds: 10, punishment: 'ban' as const, revert: false }] })),
      ),
    );
    const s = await store.get(guild, 'limits', limitsSettings);
    assert.deepEqual(s.rules.map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(s.next_rule_id, 11);
  });
});
