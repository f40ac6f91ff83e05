// Who may act on whom: nobody on the owner; a moderator (other than the owner) only on members
// below their own highest role; the bot only on members below its own.
import type { Guild, GuildMember } from 'discord.js';

/** Why `moderatorId` (or the bot) may not act on `target`, or undefined. */
export async function refusal(guild: Guild, moderatorId: string, target: GuildMember): Promise<string | undefined> {
  if (target.id === guild.ownerId) return 'Nobody can act on the server owner.';
  if (target.id === moderatorId) return 'You cannot act on yourself.';
  if (moderatorId !== guild.ownerId) {
    const moderator = await guild.members.fetch(moderatorId);
    if (target.roles.highest.comparePositionTo(moderator.roles.highest) >= 0) return `<@${target.id}> has a role at or above your highest role.`;
  }
  const me = await guild.members.fetchMe();
  if (target.roles.highest.comparePositionTo(me.roles.highest) >= 0) return `<@${target.id}> has a role at or above the bot's highest role.`;
  return undefined;
}
