// Whether a member may run a command: the cluster checks it before every interaction rather than
// trust that Discord hid the command. An override for one of the member's roles decides (an allow
// wins over a deny, as with Discord's own role permissions); without one, the command's
// default_member_permissions do. Administrators and the owner may always.
//
// When the overrides cannot be read (Postgres down and no copy in Redis), a command that needs no
// permission by default still runs and every other one is refused with a message saying why: an
// allow override is never assumed, and a deny override is never skipped for a command that matters.
import { PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, CommandContext } from '../types';
import { permissionsSettings } from './settings';

type Verdict = 'allowed' | 'refused' | 'unknown';

export async function mayRun(interaction: ChatInputCommandInteraction, command: BotCommand, ctx: CommandContext): Promise<Verdict> {
  const perms = interaction.memberPermissions;
  if (!interaction.guildId || !perms) return 'refused';
  if (perms.has(PermissionFlagsBits.Administrator) || interaction.guild?.ownerId === interaction.user.id) return 'allowed';
  const needed = BigInt(command.data.default_member_permissions ?? '0');
  let overrides;
  try {
    ({ overrides } = await ctx.settings.get(interaction.guildId, 'permissions', permissionsSettings));
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, guild_id: interaction.guildId, command: command.data.name }, 'command permissions unreadable');
    return needed === 0n ? 'allowed' : 'unknown';
  }
  const roles = memberRoles(interaction);
  const mine = overrides.filter((o) => o.command === command.data.name && roles.includes(o.role_id));
  if (mine.some((o) => o.allow)) return 'allowed';
  if (mine.length) return 'refused';
  return perms.has(needed) ? 'allowed' : 'refused';
}

function memberRoles(interaction: ChatInputCommandInteraction): string[] {
  const member = interaction.member;
  if (!member) return [];
  return Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
}

/** Answers the refusal and returns false when the member may not run `command`. */
export async function requirePermission(interaction: ChatInputCommandInteraction, command: BotCommand, ctx: CommandContext): Promise<boolean> {
  const verdict = await mayRun(interaction, command, ctx);
  if (verdict === 'allowed') return true;
  const content = verdict === 'refused'
    ? `You are not allowed to use /${command.data.name} here.`
    : `/${command.data.name} cannot be checked against this server's permissions right now (settings unavailable); try again in a minute.`;
  await interaction.reply({ content, ephemeral: true });
  return false;
}
