// Moderation cases: one row per action (a command or a limit's punishment), numbered per guild
// without gaps. One statement bumps the guild's counter row and inserts the case: concurrent
// inserts queue on that row's lock, and a failed insert rolls the bump back with it.
import type { Pool } from '../../../internal/db/pool';

export type CaseAction = 'ban' | 'kick' | 'timeout' | 'warn' | 'strip_roles' | 'purge';

export interface Case {
  guild_id: string;
  number: number;
  action: CaseAction;
  actor_id: string;
  target_id: string;
  reason: string | null;
  /** failed: the action could not be applied (hierarchy, missing permission); `error` says why. */
  state: 'applied' | 'failed';
  error: string | null;
  created_at: Date;
}

export type NewCase = Pick<Case, 'guild_id' | 'action' | 'actor_id' | 'target_id'> & {
  reason?: string | null;
  state?: Case['state'];
  error?: string | null;
  created_at?: Date;
  /** The id a case queued while the database was down carries: writing it again makes no second case. */
  pending_id?: string;
};

/** The unique constraint of `cases.pending_id` (migration 006). */
const PENDING_ID_TAKEN = { code: '23505', constraint: 'cases_pending_id_key' };

export async function openCase(pool: Pool, c: NewCase): Promise<Case> {
  const { rows } = await insertCase(pool, c);
  return rows[0]!;
}

/** Writes a case queued while the database was down; `created` is false when it was written already. */
export async function openPendingCase(pool: Pool, c: NewCase & { pending_id: string }): Promise<{ case: Case; created: boolean }> {
  try {
    return { case: (await insertCase(pool, c)).rows[0]!, created: true };
  } catch (err) {
    // Written already (or by another writer at this moment): its statement is rolled back whole.
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code !== PENDING_ID_TAKEN.code || constraint !== PENDING_ID_TAKEN.constraint) throw err;
  }
  const { rows } = await pool.query<Case>('select * from cases where pending_id = $1', [c.pending_id]);
  return { case: rows[0]!, created: false };
}

function insertCase(pool: Pool, c: NewCase) {
  // A pending id already written fails the insert (unique), and the counter's bump with it.
  return pool.query<Case>(
    `with n as (
       insert into guild_case_counters (guild_id, last_number) values ($1, 1)
       on conflict (guild_id) do update set last_number = guild_case_counters.last_number + 1
       returning last_number)
     insert into cases (guild_id, number, action, actor_id, target_id, reason, state, error, created_at, pending_id)
     select $1, n.last_number, $2, $3, $4, $5, $6, $7, coalesce($8, now()), $9 from n
     returning *`,
    [c.guild_id, c.action, c.actor_id, c.target_id, c.reason ?? null, c.state ?? 'applied', c.error ?? null, c.created_at ?? null, c.pending_id ?? null],
  );
}

export async function getCase(pool: Pool, guildId: string, number: number): Promise<Case | undefined> {
  const { rows } = await pool.query<Case>('select * from cases where guild_id = $1 and number = $2', [guildId, number]);
  return rows[0];
}

/** The guild's latest cases, newest first, optionally of one target. */
export async function listCases(pool: Pool, guildId: string, targetId?: string, limit = 20): Promise<Case[]> {
  const { rows } = await pool.query<Case>(
    'select * from cases where guild_id = $1 and ($2::text is null or target_id = $2) order by number desc limit $3',
    [guildId, targetId ?? null, limit],
  );
  return rows;
}

/** One line describing a case, as the mod log and /cases show it. */
export function describeCase(c: Case): string {
  return `Case #${c.number}: ${describeAction(c)}`;
}

/** A case not numbered yet (the database was unavailable). */
export function describeNewCase(c: NewCase): string {
  return `Case: ${describeAction(c)}`;
}

function describeAction(c: NewCase): string {
  const failed = c.state === 'failed' ? ` **FAILED** (${c.error ?? 'unknown error'})` : '';
  return `${c.action} of <@${c.target_id}> by <@${c.actor_id}>${c.reason ? `: ${c.reason}` : ''}${failed}`;
}
