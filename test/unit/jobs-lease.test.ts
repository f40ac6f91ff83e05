// The local lease: held until its time less the margin, extended only by renewals, gone for good once lost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseLost, LocalLease } from '../../jobs/lease';
import { MAX_DEPTH, unstorableJson } from '../../jobs/storable-json';

describe('LocalLease', () => {
  it('holds until the lease less the margin, counted from when the claim was sent', () => {
    const lease = new LocalLease(5_000, 1_000, 100);
    assert.equal(lease.check(4_099), undefined);
    assert.match(lease.check(4_100)!, /ran out before it could be renewed/);
  });

  it('a renewal extends it from when the renewal was sent; an expired lease stays expired', () => {
    const lease = new LocalLease(5_000, 1_000, 0);
    lease.renewed(3_000);
    assert.equal(lease.check(6_999), undefined);
    assert.ok(lease.check(7_000));
    lease.renewed(6_000); // a late answer cannot revive it once it has been found expired
    assert.ok(lease.check(6_500));
  });

  it('once lost, renewals do not bring it back and assertHeld throws LeaseLost naming why', () => {
    const lease = new LocalLease(5_000, 1_000, performance.now());
    lease.lose('taken over');
    lease.renewed(performance.now());
    assert.throws(() => lease.assertHeld(), (err: unknown) => err instanceof LeaseLost && /lost the lease: taken over/.test((err as Error).message));
  });
});

describe('unstorableJson', () => {
  it('names the place of a NUL, a lone surrogate, a bad key, or too deep a nesting', () => {
    assert.equal(unstorableJson({ a: ['ok', 1, null, { '😀': 'x\ud83d\ude00' }] }, 'data'), undefined);
    assert.equal(unstorableJson({ a: ['x', 'b\u0000'] }, 'data'), 'data/a/1 must not contain \\u0000');
    assert.equal(unstorableJson({ a: '\udc00' }, 'data'), 'data/a must not contain a lone UTF-16 surrogate');
    assert.equal(unstorableJson({ a: 'x\ud800y' }, 'data'), 'data/a must not contain a lone UTF-16 surrogate');
    assert.equal(unstorableJson({ 'k\u0000': 1 }, 'data'), 'data: a key must not contain \\u0000');
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
    assert.equal(unstorableJson(deep, 'data'), undefined);
    assert.match(unstorableJson([deep], 'data')!, /nested too deep/);
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.match(unstorableJson(deep, 'data')!, /nested too deep/);
  });
});
