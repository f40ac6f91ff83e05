// The daily session start budget is shared by every node through Redis and counts the starts
// Discord's answer still lags behind: the last start is never granted twice, on one node or two.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Gauge, Registry } from 'prom-client';
import { SessionBudget } from '../../proxy/cluster/session-budget';
import { dropRedisKeys, REDIS_URL, uniqueName } from '../helpers/services';

/** A Discord that allows `total` starts a day and counts an IDENTIFY only when it `arrive`s. */
function discord(total: number) {
  let arrived = 0;
  return {
    arrive: (n = 1) => (arrived += n),
    fetch: async () => ({ total, remaining: total - arrived, reset_after: 3_600_000, max_concurrency: 1 }),
  };
}

describe('SessionBudget across nodes', () => {
  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  let clock = 1_000_000;
  after(async () => {
    for (const p of prefixes) await dropRedisKeys(p);
    redis.disconnect();
  });

  /** Two nodes of one deployment, against one Discord. */
  function deployment(total: number) {
    const prefix = `${uniqueName('st_budget')}:`;
    prefixes.push(prefix);
    const d = discord(total);
    const node = (name: string) => {
      const gauge = new Gauge({ name: `starts_remaining_${name}`, help: 'x', registers: [new Registry()] });
      return new SessionBudget({ redis, prefix, node: name, fetchLimit: d.fetch, logger: pino({ level: 'silent' }), remainingGauge: gauge, now: () => clock });
    };
    return { discord: d, a: node('a'), b: node('b') };
  }

  it('grants 3 starts of 3 across two nodes, then none while their IDENTIFYs are still on the wire', async () => {
    const { a, b } = deployment(3);
    assert.deepEqual(await a.tryTake(), { granted: true });
    assert.deepEqual(await b.tryTake(), { granted: true });
    assert.deepEqual(await a.tryTake(), { granted: true });
    // The stored budget is spent, so the node asks Discord, which has counted none of them yet.
    const verdict = await b.tryTake();
    assert.equal(verdict.granted, false, 'a 4th start was granted on the other node');
  });

  it('once the starts are counted by Discord a spent budget waits for the reset', async () => {
    const { discord: d, a, b } = deployment(2);
    await a.tryTake();
    await b.tryTake();
    d.arrive(2);
    clock += 11_000;
    assert.deepEqual(await a.tryTake(), { granted: false, retryInMs: 60_000 });
  });

  it('a start Discord never saw (its IDENTIFY was lost) is offered again after the in-flight window', async () => {
    const { discord: d, a, b } = deployment(2);
    await a.tryTake();
    await b.tryTake();
    d.arrive(1);
    clock += 5_000;
    assert.equal((await b.tryTake()).granted, false, 'in flight: not yet');
    clock += 6_000;
    assert.deepEqual(await b.tryTake(), { granted: true });
  });
});
