// The settings copy and the limit windows on a private Redis (stopped mid-test) and real Postgres:
// a write reaches another "cluster" on its next read; a reader that raced a write cannot put the
// old document back; with Redis down, settings come from Postgres and windows from memory (a raid
// is still counted and punished once); with both down, the last document seen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { limitsSettings } from '../../bot/modules/limits/settings';
import { LimitWindows } from '../../bot/modules/limits/window';
import { FILL_SCRIPT, SettingsStore } from '../../bot/modules/settings-store';
import { migrate } from '../../internal/db/migrate';
import { createPool, type Pool } from '../../internal/db/pool';
import { createRedis } from '../../internal/redis';
import { type PrivateService, privateRedis } from '../helpers/private-services';
import { createTestDatabase } from '../helpers/services';

const GUILD = '100000000000000042';
const rule = (id: number) => ({ id, kind: 'channel_delete' as const, count: 3, seconds: 10, punishment: 'ban' as const, revert: false });

describe('settings copy and limit windows with Redis down (private Redis, real Postgres)', () => {
  const logger = pino({ level: 'silent' });
  let redis: PrivateService;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  let clients: ReturnType<typeof createRedis>[];
  let a: SettingsStore;
  let b: SettingsStore;
  before(async () => {
    redis = await privateRedis();
    await redis.start();
    db = await createTestDatabase();
    pool = createPool(db.url, logger, { max: 4 });
    await migrate(pool);
    // As the bot's clusters have them: failing fast while Redis is down.
    clients = [0, 1].map((i) => createRedis(redis.url, logger, `c${i}`, { failFast: true, commandTimeoutMs: 500 }));
    a = new SettingsStore(pool, { redis: clients[0]!, prefix: 'st', logger });
    b = new SettingsStore(pool, { redis: clients[1]!, prefix: 'st', logger });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await pool.end();
    await db.drop();
    await redis.remove();
  });

  it('a write reaches the other cluster on its next read, and a racing reader cannot restore the old copy', async () => {
    assert.deepEqual((await b.get(GUILD, 'limits', limitsSettings)).rules, [], 'b has the empty document in its copy');
    await a.update(GUILD, 'limits', limitsSettings, (s) => ({ ...s, rules: [rule(1)] }));
    assert.deepEqual((await b.get(GUILD, 'limits', limitsSettings)).rules.map((r) => r.id), [1]);
    // A reader that read Postgres before the write fills the copy after it: refused (ver moved).
    const key = `st:settings:${GUILD}`;
    await clients[0]!.hdel(key, 'limits');
    const seen = await clients[0]!.hget(key, 'ver');
    await a.update(GUILD, 'limits', limitsSettings, (s) => ({ ...s, rules: [rule(1), rule(2)] }));
    assert.equal(await clients[0]!.eval(FILL_SCRIPT, 1, key, seen ?? '', 'limits', JSON.stringify({ rules: [rule(1)] }), 60), 0);
    assert.deepEqual((await b.get(GUILD, 'limits', limitsSettings)).rules.map((r) => r.id), [1, 2]);
  });

  it('Redis down: settings from Postgres, windows and claims in memory; both down: the last document seen', async () => {
    const windows = new LimitWindows(clients[0]!, 'st');
    await redis.stop();
    await a.update(GUILD, 'limits', limitsSettings, (s) => ({ ...s, rules: [rule(1), rule(2), rule(3)] }));
    assert.deepEqual((await b.get(GUILD, 'limits', limitsSettings)).rules.map((r) => r.id), [1, 2, 3], 'fresh from Postgres');
    const now = Date.now();
    const counts = [];
    for (let i = 0; i < 5; i++) counts.push(await windows.hit(GUILD, 1, 'raider', `e${i}`, now + i, 10));
    assert.deepEqual(counts, [1, 2, 3, 4, 5]);
    assert.equal(await windows.hit(GUILD, 1, 'raider', 'e4', now + 4, 10), 5, 'a redelivered entry is not counted twice');
    assert.deepEqual([await windows.claimPunishment(GUILD, 'raider', 10), await windows.claimPunishment(GUILD, 'raider', 10)], [true, false]);

    await pool.end();
    assert.deepEqual((await b.get(GUILD, 'limits', limitsSettings)).rules.map((r) => r.id), [1, 2, 3], 'the last document b saw');
    pool = createPool(db.url, logger, { max: 4 });
  });
});
