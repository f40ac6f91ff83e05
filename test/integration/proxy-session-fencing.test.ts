// The upstream session store against a real Redis: a shard's session is written only under the
// epoch the writer took the shard with; once another node took the shard (INCR), the old
// owner's writes are refused and it is told it lost the shard; a node whose lease lapsed on its
// own clock does not even try; a Redis that lost the epoch (restart without persistence) is
// not taken for a newer owner.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionInfo } from '@discordjs/ws';
import { Redis } from 'ioredis';
import pino from 'pino';
import { shardKeys } from '../../proxy/ownership';
import { SessionStore } from '../../proxy/session-store';
import { REDIS_URL, uniqueName } from '../helpers/services';

const silent = pino({ level: 'silent' });
const session = (sequence: number, sessionId = 'abc'): SessionInfo => ({ sessionId, sequence, shardId: 0, shardCount: 1, resumeURL: 'ws://sim' });

describe('session store: fenced by the shard epoch', () => {
  const prefix = `${uniqueName('st_fence')}:`;
  const redis = new Redis(REDIS_URL);
  const stores: SessionStore[] = [];
  const persisted = async () => JSON.parse((await redis.hget(`${prefix}sessions`, '0')) ?? 'null') as SessionInfo | null;
  const store = (owner: { holds(shard: number): boolean; lose(shard: number): void }) => {
    const s = new SessionStore(redis, prefix, silent, owner, 60_000);
    stores.push(s);
    return s;
  };

  before(async () => {
    await redis.del(shardKeys(prefix, 0).epoch, `${prefix}sessions`);
  });

  after(async () => {
    for (const s of stores) await s.close();
    await redis.del(shardKeys(prefix, 0).epoch, `${prefix}sessions`);
    await redis.quit();
  });

  it("the old owner's writes are refused once the shard was taken anew; the new owner reads and writes", async () => {
    const lost: number[] = [];
    const oldOwner = store({ holds: () => true, lose: (s) => lost.push(s) });
    const epoch1 = await redis.incr(shardKeys(prefix, 0).epoch);
    assert.equal(await oldOwner.take(0, epoch1), null);
    oldOwner.set(0, session(10));
    await oldOwner.flush();
    assert.equal((await persisted())?.sequence, 10);

    const newOwner = store({ holds: () => true, lose: () => assert.fail('the new owner keeps the shard') });
    const epoch2 = await redis.incr(shardKeys(prefix, 0).epoch);
    assert.equal((await newOwner.take(0, epoch2))?.sequence, 10, 'the new owner RESUMEs from what the old one persisted');

    oldOwner.set(0, session(99));
    await oldOwner.flush();
    assert.equal((await persisted())?.sequence, 10, 'refused');
    assert.deepEqual(lost, [0], 'the old owner is told it lost the shard');
    oldOwner.set(0, session(100));
    await oldOwner.flush();
    assert.equal((await persisted())?.sequence, 10, 'and writes nothing more for it');

    newOwner.set(0, session(12));
    await newOwner.persistAndForget(0);
    assert.equal((await persisted())?.sequence, 12);
  });

  it('a Redis that lost its data (no epoch) takes the writer\'s epoch back, so later owners stay above it', async () => {
    const owner = store({ holds: () => true, lose: () => assert.fail('nobody took the shard') });
    const epoch = await redis.incr(shardKeys(prefix, 0).epoch);
    await owner.take(0, epoch);
    await redis.del(shardKeys(prefix, 0).epoch);
    owner.set(0, session(13));
    await owner.flush();
    assert.equal((await persisted())?.sequence, 13);
    assert.equal(Number(await redis.get(shardKeys(prefix, 0).epoch)), epoch);
    assert.equal(await redis.incr(shardKeys(prefix, 0).epoch), epoch + 1);
  });

  it('a node whose lease lapsed on its own clock does not try to write, even under the current epoch', async () => {
    let holds = true;
    const owner = store({ holds: () => holds, lose: () => {} });
    const epoch = await redis.incr(shardKeys(prefix, 0).epoch);
    await owner.take(0, epoch);
    holds = false;
    owner.set(0, session(500));
    await owner.flush();
    assert.equal((await persisted())?.sequence, 13);
  });
});
