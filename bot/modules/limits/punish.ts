// Applies a limit's punishment to the user who broke it, as a case. A member the bot cannot act
// on (at or above its highest role, or Discord refusing) gets a case marked failed and a mod-log
// message: never a silent skip.
import type { Guild, GuildMember } from 'discord.js';
import { type Recorded, recordCase } from '../moderation/modlog';
import type { CommandContext } from '../types';
import type { LimitRule, LimitsSettings } from './settings';

/** How long the `timeout` punishment lasts: long enough for a moderator to look. */
export const TIMEOUT_MS = 24 * 3600_000;

/** Member fetches under way: a raider's entries past a limit arrive together, and share one GET. */
const fetching = new Map<string, Promise<GuildMember | null>>();

function fetchMember(guild: Guild, userId: string): Promise<GuildMember | null> {
  const key = `${guild.id}:${userId}`;
  let member = fetching.get(key);
  if (!member) {
    member = guild.members.fetch(userId).catch(() => null).finally(() => fetching.delete(key));
    fetching.set(key, member);
  }
  return member;
}

/** The member (null when not one) and whether the settings exempt them. */
export async function exemption(guild: Guild, userId: string, settings: LimitsSettings): Promise<{ member: GuildMember | null; exempt: boolean }> {
  const member = await fetchMember(guild, userId);
  const exempt = settings.exempt_users.includes(userId) || (member !== null && member.roles.cache.some((r) => settings.exempt_roles.includes(r.id)));
  return { member, exempt };
}

/** Why the bot cannot act on `member`, or undefined when it can. */
async function cannotAct(guild: Guild, member: GuildMember | null, rule: LimitRule): Promise<string | undefined> {
  if (!member) return rule.punishment === 'ban' ? undefined : 'the user is no longer a member';
  if (member.id === guild.ownerId) return 'the user owns the server';
  const me = await guild.members.fetchMe();
  if (member.roles.highest.comparePositionTo(me.roles.highest) >= 0) return "the user's highest role is at or above the bot's";
  return undefined;
}

async function apply(guild: Guild, userId: string, member: GuildMember | null, rule: LimitRule, reason: string): Promise<void> {
  switch (rule.punishment) {
    case 'ban':
      await guild.bans.create(userId, { reason });
      return;
    case 'kick':
      await member!.kick(reason);
      return;
    case 'timeout':
      await member!.timeout(TIMEOUT_MS, reason);
      return;
    case 'strip_roles':
      // Managed roles (bots, boosts) cannot be removed by anyone; keep them.
      await member!.roles.set(member!.roles.cache.filter((r) => r.managed && r.id !== guild.id).map((r) => r.id), reason);
      return;
  }
}

export async function punish(ctx: CommandContext, guild: Guild, userId: string, member: GuildMember | null, rule: LimitRule): Promise<Recorded> {
  const reason = `limits rule #${rule.id}: more than ${rule.count} ${rule.kind} within ${rule.seconds}s`;
  let error = await cannotAct(guild, member, rule).catch((err: Error) => `could not check the role hierarchy: ${err.message}`);
  if (!error) {
    try {
      await apply(guild, userId, member, rule, reason);
    } catch (err) {
      error = `Discord refused: ${(err as Error).message}`;
    }
  }
  if (error) ctx.logger.warn({ guild_id: guild.id, user_id: userId, rule: rule.id, error }, 'limit punishment not applied');
  return recordCase(ctx, {
    guild_id: guild.id, action: rule.punishment, actor_id: ctx.client.user!.id, target_id: userId, reason, state: error ? 'failed' : 'applied', error: error ?? null,
  });
}
