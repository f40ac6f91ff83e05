// The runner on real Postgres: SKIP LOCKED claiming across jobservers, lease take-over.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { migrate } from '../../internal/db/migrate';
import { createPool, type Pool } from '../../internal/db/pool';
import { TaskRepository } from '../../jobs/repository';
import { Runner, type TaskHandler } from '../../jobs/runner';
import { LocalStorage } from '../../jobs/storage';
import { createTestDatabase } from '../helpers/services';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('jobs runner (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  let repo: TaskRepository;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, silent, { max: 20 });
    await migrate(pool);
    repo = new TaskRepository(pool);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  const runner = (workerId: string, handler: TaskHandler, leaseSeconds = 30) =>
    new Runner({ repo, handlers: { guild_create_backup: handler }, workerId, concurrency: 4, leaseSeconds, pollMs: 50, discord: { token: 'unused', timeoutSeconds: 1 }, storage: new LocalStorage('/tmp/st-unused'), logger: silent });

  it('two jobservers and 20 tasks: each task executed exactly once', async () => {
    const runs = new Map<string, string[]>();
    const handler = (worker: string): TaskHandler => async (ctx) => {
      runs.set(ctx.task.task_id, [...(runs.get(ctx.task.task_id) ?? []), worker]);
      await sleep(20);
      return { msg: 'done' };
    };
    const ids = [];
    // Distinct guilds: one task per guild at a time is a separate rule.
    for (let i = 0; i < 20; i++) ids.push((await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: `g/${1000 + i}`, data: {}, execute: true, expiry: null })).task_id);
    const a = runner('a', handler('a'));
    const b = runner('b', handler('b'));
    a.start();
    b.start();
    const deadline = Date.now() + 20_000;
    while ((await Promise.all(ids.map((id) => repo.get(id)))).some((t) => t!.state !== 'completed')) {
      assert.ok(Date.now() < deadline, 'tasks did not complete');
      await sleep(50);
    }
    await Promise.all([a.stop(), b.stop()]);
    for (const id of ids) assert.equal(runs.get(id)?.length, 1, `task ${id} ran ${runs.get(id)?.length} times`);
    const workers = new Set([...runs.values()].flat());
    assert.deepEqual([...workers].sort(), ['a', 'b'], 'both jobservers took work');
  });

  it('runs one task per guild at a time', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const handler: TaskHandler = async () => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await sleep(100);
      concurrent--;
      return { msg: 'done' };
    };
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: 'g/42', data: {}, execute: true, expiry: null })).task_id);
    const a = runner('c', handler);
    const b = runner('d', handler);
    a.start();
    b.start();
    const deadline = Date.now() + 20_000;
    while ((await Promise.all(ids.map((id) => repo.get(id)))).some((t) => t!.state !== 'completed')) {
      assert.ok(Date.now() < deadline, 'tasks did not complete');
      await sleep(50);
    }
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(maxConcurrent, 1);
  });

  it('takes over a task whose jobserver died, from its checkpoint', async () => {
    const task = await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: 'g/77', data: {}, execute: true, expiry: null });
    // A jobserver claims it, checkpoints step 1, then dies without releasing its lease.
    const claimed = await repo.claim('dead', 1, 1);
    assert.equal(claimed?.task_id, task.task_id);
    await repo.saveCheckpoint(task.task_id, 'dead', { step: 1 });
    const seen: unknown[] = [];
    const survivor = runner('alive', async (ctx) => {
      seen.push(ctx.checkpoint);
      return { msg: 'resumed' };
    }, 2);
    survivor.start();
    const deadline = Date.now() + 10_000;
    while ((await repo.get(task.task_id))!.state !== 'completed') {
      assert.ok(Date.now() < deadline, 'not taken over');
      await sleep(100);
    }
    await survivor.stop();
    assert.deepEqual(seen, [{ step: 1 }]);
    const done = (await repo.get(task.task_id))!;
    assert.equal(done.attempts, 2);
    assert.ok(done.statuses.some((s) => /taken over/.test(s.msg)));
  });

  it('fences writes: after the lease expires they are refused, and a take-over waits the lease plus the grace', async () => {
    const task = await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: 'g/91', data: {}, execute: true, expiry: null });
    assert.equal((await repo.claim('first', 1, 2))?.task_id, task.task_id);
    assert.equal(await repo.saveCheckpoint(task.task_id, 'first', { step: 1 }), true);
    assert.equal(await repo.status(task.task_id, 'other', { msg: 'not mine' }), false, 'only the holder writes');
    await sleep(1_200);
    // Expired, not yet taken over: every write of the old holder is refused, and nobody may claim it within the grace.
    assert.deepEqual(
      await Promise.all([repo.renew(task.task_id, 'first', 1), repo.saveCheckpoint(task.task_id, 'first', { step: 2 }), repo.status(task.task_id, 'first', { msg: 'late' }), repo.finish(task.task_id, 'first', 'completed', 'late', undefined)]),
      [false, false, false, false],
    );
    assert.equal(await repo.claim('second', 30, 2), undefined, 'within the grace');
    await sleep(2_000);
    const taken = await repo.claim('second', 30, 2);
    assert.equal(taken?.task_id, task.task_id);
    assert.deepEqual(taken.checkpoint, { step: 1 });
    assert.equal(await repo.finish(task.task_id, 'first', 'completed', 'late', undefined), false, 'the old holder cannot finish it');
    assert.equal(await repo.finish(task.task_id, 'second', 'completed', 'done', undefined), true);
  });

  it('deletes expired finished tasks and hands back their outputs for removal', async () => {
    const expired = await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: 'g/88', data: {}, execute: false, expiry: new Date(Date.now() - 1000) });
    const live = await repo.create({ id: randomUUID(), name: 'guild_create_backup', for: 'g/89', data: {}, execute: false, expiry: new Date(Date.now() + 60_000) });
    await pool.query(`update tasks set state = 'completed', output = '{"filename":"backups/88/x.json","size":1}' where task_id = any($1)`, [[expired.task_id, live.task_id]]);
    const deleted = await repo.deleteExpired();
    assert.deepEqual(deleted.map((t) => [t.task_id, t.output?.filename]), [[expired.task_id, 'backups/88/x.json']]);
    assert.equal(await repo.get(expired.task_id), undefined);
    assert.ok(await repo.get(live.task_id));
  });
});
