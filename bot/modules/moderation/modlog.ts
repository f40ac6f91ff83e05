// Records a case and posts it to the guild's mod-log channel (when one is set). The case is the
// record; a mod log that cannot be posted (channel gone, no access) is logged, not fatal.
//
// Postgres down: the action has been done already (a limit's punishment never waits for the
// database), so the case is queued, with the time of the action and an id of its own, in a Redis
// list of the deployment, and written as soon as Postgres answers again, by this cluster or, if
// it died meanwhile, by whichever cluster starts or queues next; the id makes a case written twice
// one case. The mod log says at once that the case is pending, then posts it with its number.
// Redis down as well: the case waits in this process (lost if it dies; logged when queued).
import { randomUUID } from 'node:crypto';
import { Routes } from 'discord-api-types/v10';
import { isDatabaseUnavailable } from '../../../internal/db/unavailable';
import type { CommandContext } from '../types';
import { type Case, describeCase, describeNewCase, type NewCase, openCase, openPendingCase } from './cases';
import { moderationSettings } from './settings';

export type Recorded = { state: 'recorded'; case: Case } | { state: 'pending' };

/** How a command's reply names the case. */
export const caseLabel = (r: Recorded): string => (r.state === 'recorded' ? `Case #${r.case.number}` : 'Case pending (database unavailable)');

export async function recordCase(ctx: CommandContext, c: NewCase): Promise<Recorded> {
  const withTime = { ...c, created_at: c.created_at ?? new Date() };
  try {
    const opened = await openCase(ctx.db, withTime);
    await postModlog(ctx, c.guild_id, describeCase(opened));
    return { state: 'recorded', case: opened };
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    await queue(ctx, { ...withTime, pending_id: randomUUID() }, err as Error);
    await postModlog(ctx, c.guild_id, `${describeNewCase(withTime)} (case pending: the database is unavailable; it gets its number when it is back)`);
    return { state: 'pending' };
  }
}

export async function postModlog(ctx: CommandContext, guildId: string, content: string): Promise<void> {
  try {
    const { modlog_channel_id: channelId } = await ctx.settings.get(guildId, 'moderation', moderationSettings);
    if (channelId) await ctx.client.rest.post(Routes.channelMessages(channelId), { body: { content, allowed_mentions: { parse: [] } } });
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, guild_id: guildId }, 'mod-log message not posted');
  }
}

const RETRY_MS = 2_000;
/** A Redis that does not answer within this is taken as down. */
const REDIS_TIMEOUT_MS = 1_000;
/** Pending cases kept in a process while Redis is down too; past this a case is only logged. */
const MAX_IN_PROCESS = 1_000;
const inProcess = new WeakMap<CommandContext, PendingCase[]>();
const flushing = new WeakSet<CommandContext>();

const queueKey = (ctx: CommandContext) => `${ctx.keyPrefix}:cases:pending`;

function withinTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('Redis did not answer')), REDIS_TIMEOUT_MS).unref())]);
}

type PendingCase = NewCase & { pending_id: string };

async function queue(ctx: CommandContext, c: PendingCase, err: Error): Promise<void> {
  const about = { err: err.message, guild_id: c.guild_id, action: c.action, target_id: c.target_id, pending_id: c.pending_id };
  try {
    await withinTimeout(ctx.redis.rpush(queueKey(ctx), JSON.stringify(c)));
    ctx.logger.warn(about, 'case pending until the database is back (queued in Redis)');
  } catch (redisErr) {
    const list = inProcess.get(ctx) ?? [];
    inProcess.set(ctx, list);
    if (list.length >= MAX_IN_PROCESS) {
      ctx.logger.error({ ...about, case: c }, 'case lost: database and Redis unavailable and too many cases pending');
      return;
    }
    list.push(c);
    ctx.logger.warn({ ...about, redis: (redisErr as Error).message }, 'case pending until the database is back (Redis unavailable too: kept in this process)');
  }
  scheduleFlush(ctx, RETRY_MS);
}

/** Writes the cases left queued by an earlier process (called once a cluster is up). */
export function resumePendingCases(ctx: CommandContext): void {
  scheduleFlush(ctx, 0);
}

function scheduleFlush(ctx: CommandContext, ms: number): void {
  if (flushing.has(ctx)) return;
  flushing.add(ctx);
  setTimeout(() => {
    void flush(ctx).catch(() => false).then((done) => {
      flushing.delete(ctx);
      if (!done) scheduleFlush(ctx, RETRY_MS);
    });
  }, ms).unref();
}

/** Writes the pending cases in order, this process's own first; false when one must wait (try again later). */
async function flush(ctx: CommandContext): Promise<boolean> {
  const own = inProcess.get(ctx) ?? [];
  while (own.length) {
    if (!(await write(ctx, own[0]!))) return false;
    own.shift();
  }
  for (;;) {
    let raw: string | null;
    try {
      raw = await withinTimeout(ctx.redis.lindex(queueKey(ctx), 0));
    } catch {
      return false;
    }
    if (raw === null) return true;
    let c: PendingCase;
    try {
      c = JSON.parse(raw) as PendingCase;
      c.created_at = new Date(c.created_at as unknown as string);
    } catch {
      ctx.logger.error({ entry: raw.slice(0, 200) }, 'unreadable pending case dropped');
      await ctx.redis.lrem(queueKey(ctx), 1, raw).catch(() => {});
      continue;
    }
    if (!(await write(ctx, c))) return false;
    try {
      await withinTimeout(ctx.redis.lrem(queueKey(ctx), 1, raw));
    } catch {
      return false; // written: its id makes the next try a no-op
    }
  }
}

/** One pending case written (or found written); false while the database is unavailable. */
async function write(ctx: CommandContext, c: PendingCase): Promise<boolean> {
  try {
    const opened = await openPendingCase(ctx.db, c);
    if (opened.created) await postModlog(ctx, opened.case.guild_id, describeCase(opened.case));
    return true;
  } catch (err) {
    if (isDatabaseUnavailable(err)) return false;
    ctx.logger.error({ err: (err as Error).message, case: c }, 'pending case refused by the database; dropped');
    return true;
  }
}
