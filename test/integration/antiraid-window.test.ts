// The limits' sliding windows on real Redis, shared by two "clusters" (two connections): counts
// continue whichever cluster sees the next entry, a redelivered entry is not counted twice,
// entries outside the window drop out, and exactly one cluster claims the punishment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LimitWindows } from '../../bot/modules/limits/window';
import { createRedis } from '../../internal/redis';
import { dropRedisKeys, REDIS_URL, uniqueName } from '../helpers/services';

describe('limit windows in Redis (two clusters)', () => {
  const logger = pino({ level: 'silent' });
  const prefix = uniqueName('st_limits');
  const a = createRedis(REDIS_URL, logger, 'a');
  const b = createRedis(REDIS_URL, logger, 'b');
  let one: LimitWindows;
  let two: LimitWindows;
  before(() => {
    one = new LimitWindows(a, prefix);
    two = new LimitWindows(b, prefix);
  });
  after(async () => {
    await dropRedisKeys(`${prefix}:`);
    a.disconnect();
    b.disconnect();
  });

  it('counts across clusters, once per entry, within the window', async () => {
    const now = Date.now();
    assert.equal(await one.hit('g', 1, 'u', 'e1', now - 12_000, 10), 1);
    assert.equal(await one.hit('g', 1, 'u', 'e2', now - 2_000, 10), 1, 'e1 is outside the 10 s window of e2');
    assert.equal(await two.hit('g', 1, 'u', 'e3', now - 1_000, 10), 2, 'the other cluster continues the count');
    assert.equal(await one.hit('g', 1, 'u', 'e3', now - 1_000, 10), 2, 'a redelivered entry is not counted again');
    assert.equal(await two.hit('g', 1, 'u', 'e4', now, 10), 3);
    assert.equal(await one.hit('g', 2, 'u', 'e4', now, 10), 1, 'each rule has its own window');
  });

  it('counts entries that reach Redis out of order (a later entry handled first)', async () => {
    const t = Date.now() - 5_000;
    assert.equal(await one.hit('g', 3, 'u', 'c3', t + 2_000, 10), 1);
    assert.equal(await two.hit('g', 3, 'u', 'c1', t, 10), 2, 'an earlier entry joins the window the later one is in');
    assert.equal(await one.hit('g', 3, 'u', 'c2', t + 1_000, 10), 3, 'the window holding all three counts them all');
    assert.equal(await one.hit('g', 3, 'u', 'c4', t + 10_000, 10), 3, 'c1 is not within 10 s of c4; c2, c3 and c4 are');
  });

  it('lets exactly one cluster claim a punishment', async () => {
    const claims = await Promise.all([one, two, one, two].map((w) => w.claimPunishment('g', 'raider', 10)));
    assert.deepEqual(claims.filter(Boolean).length, 1);
  });
});
