// /purge count [user]: bulk-deletes up to 100 recent messages of the channel (of one user when
// given). Discord's bulk delete refuses messages older than 14 days, so those are left out.
import { ApplicationCommandOptionType as O, ApplicationCommandType, PermissionFlagsBits, Routes } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, CommandContext } from '../types';
import { caseLabel, recordCase } from './modlog';

const BULK_DELETE_MAX_AGE_MS = 14 * 86_400_000;

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const count = interaction.options.getInteger('count', true);
  if (count < 1 || count > 100) return void (await interaction.reply({ content: 'count must be from 1 to 100.', ephemeral: true }));
  const userId = interaction.options.get('user')?.value;
  await interaction.deferReply({ ephemeral: true });
  const channel = interaction.channelId;
  const recent = (await ctx.client.rest.get(Routes.channelMessages(channel), { query: new URLSearchParams({ limit: '100' }) })) as { id: string; author: { id: string } }[];
  const oldest = Date.now() - BULK_DELETE_MAX_AGE_MS;
  const ids = recent
    .filter((m) => (userId === undefined || m.author.id === userId) && createdAt(m.id) > oldest)
    .slice(0, count)
    .map((m) => m.id);
  if (ids.length === 0) return void (await interaction.editReply('No messages to delete (bulk delete only reaches the last 14 days).'));
  const reason = `purge by ${interaction.user.username}`;
  if (ids.length === 1) await ctx.client.rest.delete(Routes.channelMessage(channel, ids[0]!), { reason });
  else await ctx.client.rest.post(Routes.channelBulkDelete(channel), { body: { messages: ids }, reason });
  const opened = await recordCase(ctx, { guild_id: interaction.guildId!, action: 'purge', actor_id: interaction.user.id, target_id: typeof userId === 'string' ? userId : channel, reason: `${ids.length} message(s) in <#${channel}>` });
  await interaction.editReply(`${caseLabel(opened)}: deleted ${ids.length} message(s).`);
}

export const purge: BotCommand = {
  data: {
    name: 'purge', description: 'Delete recent messages of this channel', type: ApplicationCommandType.ChatInput,
    default_member_permissions: PermissionFlagsBits.ManageMessages.toString(), dm_permission: false,
    options: [
      { type: O.Integer, name: 'count', description: 'How many (1-100)', required: true, min_value: 1, max_value: 100 },
      { type: O.User, name: 'user', description: 'Only their messages' },
    ],
  },
  execute,
};

/** When a message was sent, from its snowflake (ms since Discord's epoch, 2015-01-01, above bit 22). */
const createdAt = (id: string): number => Number((BigInt(id) >> 22n) + 1420070400000n);
