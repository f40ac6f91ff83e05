// /cases [user] and /case id: the guild's record of moderation. Visible to whoever may moderate
// (Moderate Members by default, or an override).
import { ApplicationCommandOptionType as O, ApplicationCommandType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, CommandContext } from '../types';
import { describeCase, getCase, listCases } from './cases';

const base = { type: ApplicationCommandType.ChatInput, default_member_permissions: PermissionFlagsBits.ModerateMembers.toString(), dm_permission: false } as const;

export const casesCommand: BotCommand = {
  data: { ...base, name: 'cases', description: 'Latest moderation cases', options: [{ type: O.User, name: 'user', description: 'Only cases of this user' }] },
  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext) {
    const userId = interaction.options.get('user')?.value;
    const list = await listCases(ctx.db, interaction.guildId!, typeof userId === 'string' ? userId : undefined);
    await interaction.reply({ content: list.length ? list.map(describeCase).join('\n') : 'No cases.', allowedMentions: { parse: [] }, ephemeral: true });
  },
};

export const caseCommand: BotCommand = {
  data: { ...base, name: 'case', description: 'One moderation case', options: [{ type: O.Integer, name: 'id', description: 'Case number', required: true, min_value: 1 }] },
  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext) {
    const number = interaction.options.getInteger('id', true);
    const found = await getCase(ctx.db, interaction.guildId!, number);
    const content = found ? `${describeCase(found)} (<t:${Math.floor(found.created_at.getTime() / 1000)}>)` : `There is no case #${number}.`;
    await interaction.reply({ content, allowedMentions: { parse: [] }, ephemeral: true });
  },
};
