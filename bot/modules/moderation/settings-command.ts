// /settings modlog channel: where each case is posted. Needs Manage Server or an override.
import { ApplicationCommandOptionType, ApplicationCommandType, ChannelType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, CommandContext } from '../types';
import { moderationSettings } from './settings';

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const channelId = interaction.options.get('channel')?.value;
  const modlog = typeof channelId === 'string' ? channelId : null;
  await ctx.settings.update(interaction.guildId!, 'moderation', moderationSettings, (s) => ({ ...s, modlog_channel_id: modlog }));
  await interaction.reply(modlog ? `Cases are posted to <#${modlog}>.` : 'The mod log is off.');
}

export const settingsCommand: BotCommand = {
  data: {
    name: 'settings',
    description: 'Server settings of the bot',
    type: ApplicationCommandType.ChatInput,
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
    dm_permission: false,
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand, name: 'modlog', description: 'The channel that gets one message per case (empty: off)',
        options: [{ type: ApplicationCommandOptionType.Channel, name: 'channel', description: 'Mod-log channel', channel_types: [ChannelType.GuildText] }],
      },
    ],
  },
  execute,
};
