// The daily session start budget counts this node's own starts that Discord's answer lags behind:
// a start granted (or an IDENTIFY on the wire) is not offered again because the answer still shows it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Gauge, Registry } from 'prom-client';
import { SessionBudget } from '../../proxy/cluster/session-budget';

/** A Discord that allows `total` starts and counts an IDENTIFY only when it `arrive`s. */
function discord(total: number) {
  let arrived = 0;
  return {
    arrive: () => arrived++,
    fetch: async () => ({ total, remaining: total - arrived, reset_after: 86_400_000, max_concurrency: 1 }),
  };
}

function budgetOf(fetch: ReturnType<typeof discord>['fetch']) {
  const gauge = new Gauge({ name: 'starts_remaining', help: 'x', registers: [new Registry()] });
  return new SessionBudget(fetch, pino({ level: 'silent' }), gauge);
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

describe('SessionBudget', () => {
  it('never grants the last start twice while the IDENTIFYs are still on their way', async () => {
    const d = discord(3);
    const budget = budgetOf(d.fetch);
    const abort = new AbortController();
    for (let i = 0; i < 3; i++) (await budget.take(abort.signal)).sent();
    // None has reached Discord yet: its answer still says 3 left.
    const fourth = budget.take(abort.signal);
    assert.equal(await settlesWithin(fourth, 500), false, 'a 4th start was granted');
    abort.abort();
    await assert.rejects(fourth);
  });

  it('a granted start that is cancelled gives its place back', async () => {
    const d = discord(3);
    const budget = budgetOf(d.fetch);
    const abort = new AbortController();
    (await budget.take(abort.signal)).sent();
    d.arrive();
    (await budget.take(abort.signal)).sent();
    d.arrive();
    (await budget.take(abort.signal)).cancel();
    assert.equal(await settlesWithin(budget.take(abort.signal), 500), true, 'the cancelled start was not given back');
    abort.abort();
  });
});
