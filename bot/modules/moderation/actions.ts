// /ban, /kick, /timeout, /warn: each checks the command permission and the role hierarchy, tells
// the target by DM before a kick or ban (when Discord lets the bot open a DM), acts with the
// reason in the audit log, and records a case.
import { ApplicationCommandOptionType as O, ApplicationCommandType, PermissionFlagsBits, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction, Guild, GuildMember } from 'discord.js';
import type { BotCommand, CommandContext } from '../types';
import type { CaseAction } from './cases';
import { parseDuration } from './duration';
import { refusal } from './hierarchy';
import { caseLabel, recordCase } from './modlog';

const user = { type: O.User, name: 'user', description: 'The member', required: true } as const;
const reason = { type: O.String, name: 'reason', description: 'Why (kept in the case and the audit log)', max_length: 400 } as const;
/** /ban's delete_messages choices, in seconds of messages to delete (Discord allows up to 7 days). */
const DELETE_CHOICES = [
  { name: 'none', value: 0 },
  { name: 'last hour', value: 3_600 },
  { name: 'last day', value: 86_400 },
  { name: 'last 7 days', value: 604_800 },
];

function definition(name: string, description: string, permission: bigint, options: RESTPostAPIChatInputApplicationCommandsJSONBody['options']): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return { name, description, type: ApplicationCommandType.ChatInput, default_member_permissions: permission.toString(), dm_permission: false, options };
}

async function notify(target: GuildMember, text: string): Promise<void> {
  // Users may close their DMs: then there is nothing more to do.
  await target.send(text).catch(() => {});
}

type Act = (guild: Guild, target: GuildMember, reason: string, interaction: ChatInputCommandInteraction) => Promise<string | { refused: string }>;

function moderationCommand(data: RESTPostAPIChatInputApplicationCommandsJSONBody, action: CaseAction, act: Act): BotCommand {
  const command: BotCommand = {
    data,
    async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext) {
      // First: the member fetches below may queue behind REST rate limits past Discord's 3 s.
      await interaction.deferReply();
      const guild = await ctx.client.guilds.fetch(interaction.guildId!);
      const targetId = String(interaction.options.get('user', true).value);
      const target = await guild.members.fetch(targetId).catch(() => null);
      if (!target) return void (await interaction.editReply(`<@${targetId}> is not a member of this server.`));
      const refused = await refusal(guild, interaction.user.id, target);
      if (refused) return void (await interaction.editReply(refused));
      const why = interaction.options.getString('reason') ?? '';
      const done = await act(guild, target, why ? `${interaction.user.username}: ${why}` : `by ${interaction.user.username}`, interaction);
      if (typeof done !== 'string') return void (await interaction.editReply(done.refused));
      const opened = await recordCase(ctx, { guild_id: guild.id, action, actor_id: interaction.user.id, target_id: target.id, reason: why || null });
      await interaction.editReply(`${caseLabel(opened)}: ${done}`);
    },
  };
  return command;
}

export const ban = moderationCommand(
  definition('ban', 'Ban a member', PermissionFlagsBits.BanMembers, [user, reason, { type: O.Integer, name: 'delete_messages', description: 'Delete their recent messages', choices: DELETE_CHOICES }]),
  'ban',
  async (guild, target, reason, interaction) => {
    const seconds = interaction.options.getInteger('delete_messages') ?? 0;
    if (!DELETE_CHOICES.some((c) => c.value === seconds)) return { refused: 'delete_messages must be one of the choices.' };
    await notify(target, `You were banned from ${guild.name}: ${reason}`);
    await guild.bans.create(target.id, { reason, deleteMessageSeconds: seconds });
    return `<@${target.id}> banned.`;
  },
);

export const kick = moderationCommand(definition('kick', 'Kick a member', PermissionFlagsBits.KickMembers, [user, reason]), 'kick', async (guild, target, reason) => {
  await notify(target, `You were kicked from ${guild.name}: ${reason}`);
  await target.kick(reason);
  return `<@${target.id}> kicked.`;
});

export const timeout = moderationCommand(
  definition('timeout', 'Time a member out', PermissionFlagsBits.ModerateMembers, [user, { type: O.String, name: 'duration', description: 'Like 10m, 2h, 7d (at most 28d)', required: true, max_length: 10 }, reason]),
  'timeout',
  async (_guild, target, reason, interaction) => {
    const duration = parseDuration(interaction.options.getString('duration', true));
    if ('error' in duration) return { refused: duration.error };
    await target.timeout(duration.ms, reason);
    return `<@${target.id}> timed out until <t:${Math.floor((Date.now() + duration.ms) / 1000)}>.`;
  },
);

export const warn = moderationCommand(
  definition('warn', 'Warn a member (a case, and a DM when possible)', PermissionFlagsBits.ModerateMembers, [user, { ...reason, required: true }]),
  'warn',
  async (guild, target, reason) => {
    await notify(target, `You were warned in ${guild.name}: ${reason}`);
    return `<@${target.id}> warned.`;
  },
);
