// Tasks in Postgres: one SQL operation per function. A running task holds a lease
// (locked_by, locked_until); claiming takes pending tasks and running ones whose lease expired
// more than a grace period ago, with FOR UPDATE SKIP LOCKED so any number of jobservers share
// the work. Every write of a running task is fenced: it applies only while the writer still
// holds an unexpired lease, and returns whether it did.
import type pg from 'pg';
import { inTransaction } from '../internal/db/pool';
import type { SkippedChannel } from './tasks/archive';

export type TaskState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface TaskOutput {
  filename: string;
  size: number;
  /** guild_create_backup: the guild's owner when it was backed up (who may restore it elsewhere). */
  guild_owner_id?: string;
  /** guild_create_backup: text channels whose messages the bot could not read, and why. */
  skipped_channels?: SkippedChannel[];
}

export interface Task {
  task_id: string;
  task_name: string;
  task_for: string;
  data: Record<string, unknown>;
  output: TaskOutput | null;
  statuses: { level: string; ts: string; msg: string; [k: string]: unknown }[];
  state: TaskState;
  execute: boolean;
  expiry: Date | null;
  checkpoint: Record<string, unknown>;
  attempts: number;
  locked_by: string | null;
  locked_until: Date | null;
  created_at: Date;
  last_updated: Date;
}

/** The fence of every write by a task's runner ($1 task id, $2 worker id). */
const HELD = `locked_by = $2 and state = 'running' and locked_until > now()`;

export class TaskRepository {
  constructor(private readonly db: pg.Pool) {}

  async create(task: { id: string; name: string; for: string; data: unknown; execute: boolean; expiry: Date | null }): Promise<Task> {
    const { rows } = await this.db.query<Task>(
      `insert into tasks (task_id, task_name, task_for, data, execute, expiry, statuses)
       values ($1, $2, $3, $4, $5, $6, jsonb_build_array(jsonb_build_object('level', 'info', 'ts', now(), 'msg', 'task created')))
       returning *`,
      [task.id, task.name, task.for, JSON.stringify(task.data ?? {}), task.execute, task.expiry],
    );
    return rows[0]!;
  }

  async get(id: string): Promise<Task | undefined> {
    const { rows } = await this.db.query<Task>('select * from tasks where task_id = $1', [id]);
    return rows[0];
  }

  async listFor(taskFor: string, limit: number): Promise<Task[]> {
    const { rows } = await this.db.query<Task>('select * from tasks where task_for = $1 order by created_at desc limit $2', [taskFor, limit]);
    return rows;
  }

  async markExecutable(id: string): Promise<Task | undefined> {
    const { rows } = await this.db.query<Task>(`update tasks set execute = true, last_updated = now() where task_id = $1 and state = 'pending' returning *`, [id]);
    return rows[0];
  }

  /**
   * Takes one runnable task: pending, or running with a lease that expired more than
   * `graceSeconds` ago (its jobserver died or stalled; the grace lets a Discord call it sent just
   * before the end of its lease finish first), and never one whose guild has a task under a live
   * lease or within its grace.
   */
  async claim(workerId: string, leaseSeconds: number, graceSeconds: number): Promise<Task | undefined> {
    // Claims are serialised (briefly) so two jobservers cannot both start a task of one guild;
    // SKIP LOCKED still keeps them off each other's rows.
    return inTransaction(this.db, async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('splashtail:jobs:claim'))");
      return this.claimIn(client, workerId, leaseSeconds, graceSeconds);
    });
  }

  private async claimIn(client: pg.PoolClient, workerId: string, leaseSeconds: number, graceSeconds: number): Promise<Task | undefined> {
    const { rows } = await client.query<Task>(
      `with next as (
         select t.task_id from tasks t
         where t.execute and (t.state = 'pending' or (t.state = 'running' and t.locked_until + make_interval(secs => $3) < now()))
           and not exists (select 1 from tasks o where o.task_for = t.task_for and o.task_id <> t.task_id
                           and o.state = 'running' and o.locked_until + make_interval(secs => $3) >= now())
         order by t.created_at
         limit 1
         for update skip locked
       )
       update tasks t set state = 'running', locked_by = $1, locked_until = now() + make_interval(secs => $2),
         attempts = t.attempts + 1, last_updated = now(),
         statuses = t.statuses || jsonb_build_array(jsonb_build_object('level', 'info', 'ts', now(), 'msg',
           case when t.attempts = 0 then 'started'
                when t.state = 'pending' then 'resumed from the checkpoint (its jobserver stopped)'
                else 'taken over after its lease expired; resuming from the checkpoint' end, 'worker', $1::text))
       from next where t.task_id = next.task_id
       returning t.*`,
      [workerId, leaseSeconds, graceSeconds],
    );
    return rows[0];
  }

  /** False when the lease is no longer ours (expired, taken over or cancelled): stop working on the task. */
  async renew(id: string, workerId: string, leaseSeconds: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `update tasks set locked_until = now() + make_interval(secs => $3) where task_id = $1 and ${HELD}`,
      [id, workerId, leaseSeconds],
    );
    return rowCount === 1;
  }

  /** Appends a progress line; false when the lease is no longer ours. */
  async status(id: string, workerId: string, line: Record<string, unknown>): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `update tasks set statuses = statuses || jsonb_build_array($3::jsonb || jsonb_build_object('ts', now())), last_updated = now()
       where task_id = $1 and ${HELD}`,
      [id, workerId, JSON.stringify(line)],
    );
    return rowCount === 1;
  }

  /** False when the lease is no longer ours. */
  async saveCheckpoint(id: string, workerId: string, checkpoint: unknown): Promise<boolean> {
    const { rowCount } = await this.db.query(`update tasks set checkpoint = $3, last_updated = now() where task_id = $1 and ${HELD}`, [id, workerId, JSON.stringify(checkpoint)]);
    return rowCount === 1;
  }

  /** False when the lease is no longer ours: the task stays for whoever holds it now. */
  async finish(id: string, workerId: string, state: 'completed' | 'failed', msg: string, output: unknown): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `update tasks set state = $3, output = coalesce($5, output), locked_by = null, locked_until = null, last_updated = now(),
         statuses = statuses || jsonb_build_array(jsonb_build_object('level', case when $3 = 'failed' then 'error' else 'info' end, 'ts', now(), 'msg', $4::text))
       where task_id = $1 and ${HELD}`,
      [id, workerId, state, msg, output === undefined ? null : JSON.stringify(output)],
    );
    return rowCount === 1;
  }

  /**
   * Gives a running task back (graceful shutdown, after its handler returned, so no Discord call of
   * ours is still out): it is pending again and another jobserver may take it at once.
   */
  async release(id: string, workerId: string): Promise<void> {
    await this.db.query(`update tasks set state = 'pending', locked_by = null, locked_until = null, last_updated = now() where task_id = $1 and ${HELD}`, [id, workerId]);
  }

  async cancel(id: string): Promise<Task | undefined> {
    const { rows } = await this.db.query<Task>(
      `update tasks set state = 'cancelled', locked_by = null, locked_until = null, last_updated = now(),
         statuses = statuses || jsonb_build_array(jsonb_build_object('level', 'warn', 'ts', now(), 'msg', 'cancelled'))
       where task_id = $1 and state in ('pending', 'running') returning *`,
      [id],
    );
    return rows[0];
  }

  /** Deletes expired tasks; returns their outputs so the caller removes the files. */
  async deleteExpired(): Promise<Task[]> {
    const { rows } = await this.db.query<Task>(`delete from tasks where expiry < now() and state in ('completed', 'failed', 'cancelled') returning *`);
    return rows;
  }

  async countByState(): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ state: string; n: number }>('select state, count(*)::int as n from tasks group by state');
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}
