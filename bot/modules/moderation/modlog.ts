// Records a case and posts it to the guild's mod-log channel (when one is set). The case is the
// record; a mod log that cannot be posted (channel gone, no access) is logged, not fatal.
//
// Postgres down: the action has been done already (a limit's punishment never waits for the
// database), so the case is kept in this process and written, with the time of the action, as
// soon as Postgres answers again; the mod log says at once that the case is pending, then posts
// it with its number. A process that dies meanwhile loses its pending cases (logged when queued).
import { Routes } from 'discord-api-types/v10';
import { isDatabaseUnavailable } from '../../../internal/db/unavailable';
import type { CommandContext } from '../types';
import { type Case, describeCase, describeNewCase, type NewCase, openCase } from './cases';
import { moderationSettings } from './settings';

export type Recorded = { state: 'recorded'; case: Case } | { state: 'pending' };

/** How a command's reply names the case. */
export const caseLabel = (r: Recorded): string => (r.state === 'recorded' ? `Case #${r.case.number}` : 'Case pending (database unavailable)');

const RETRY_MS = 2_000;
/** Pending cases kept per process; past this a case is only logged. */
const MAX_PENDING = 1_000;
const pending = new WeakMap<CommandContext, NewCase[]>();

export async function recordCase(ctx: CommandContext, c: NewCase): Promise<Recorded> {
  const withTime = { ...c, created_at: c.created_at ?? new Date() };
  try {
    const opened = await openCase(ctx.db, withTime);
    await postModlog(ctx, c.guild_id, describeCase(opened));
    return { state: 'recorded', case: opened };
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    queue(ctx, withTime, err as Error);
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

function queue(ctx: CommandContext, c: NewCase, err: Error): void {
  let list = pending.get(ctx);
  if (!list) pending.set(ctx, (list = []));
  if (list.length >= MAX_PENDING) {
    ctx.logger.error({ err: err.message, case: c }, 'case lost: database unavailable and too many cases pending');
    return;
  }
  ctx.logger.warn({ err: err.message, guild_id: c.guild_id, action: c.action, target_id: c.target_id, pending: list.length + 1 }, 'case pending until the database is back');
  list.push(c);
  if (list.length === 1) setTimeout(() => void flush(ctx), RETRY_MS).unref();
}

/** Writes the pending cases in order; stops at the first that fails and tries again later. */
async function flush(ctx: CommandContext): Promise<void> {
  const list = pending.get(ctx)!;
  while (list.length) {
    try {
      const opened = await openCase(ctx.db, list[0]!);
      list.shift();
      await postModlog(ctx, opened.guild_id, describeCase(opened));
    } catch (err) {
      if (!isDatabaseUnavailable(err)) {
        ctx.logger.error({ err: (err as Error).message, case: list.shift() }, 'pending case refused by the database; dropped');
        continue;
      }
      setTimeout(() => void flush(ctx), RETRY_MS).unref();
      return;
    }
  }
}
