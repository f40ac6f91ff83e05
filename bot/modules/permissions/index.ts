// permissions: per-guild overrides of who may run each command (/permissions set|list), on top
// of the commands' default_member_permissions; checked by ./check.ts, which the cluster calls
// before every command. Managing overrides needs Manage Server (or an override of its own).
import { ApplicationCommandOptionType as O, ApplicationCommandType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, BotModule, CommandContext } from '../types';
import { permissionsSettings } from './settings';

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = interaction.guildId!;
  if (interaction.options.getSubcommand() === 'list') {
    const { overrides } = await ctx.settings.get(guildId, 'permissions', permissionsSettings);
    const lines = overrides.map((o) => `/${o.command}: <@&${o.role_id}> ${o.allow ? 'allow' : 'deny'}`);
    await interaction.reply({ content: lines.length ? lines.join('\n') : 'No overrides: each command uses its default permissions.', allowedMentions: { parse: [] }, ephemeral: true });
    return;
  }
  const name = interaction.options.getString('command', true).replace(/^\//, '').trim();
  const known = ctx.modules.some((m) => m.commands.some((c) => c.data.name === name));
  if (!known) return void (await interaction.reply({ content: `There is no command /${name}.`, ephemeral: true }));
  const roleId = String(interaction.options.get('role', true).value);
  const value = interaction.options.getString('value', true);
  if (value !== 'allow' && value !== 'deny') return void (await interaction.reply({ content: 'value must be allow or deny.', ephemeral: true }));
  await ctx.settings.update(guildId, 'permissions', permissionsSettings, (s) => ({
    overrides: [...s.overrides.filter((o) => !(o.command === name && o.role_id === roleId)), { command: name, role_id: roleId, allow: value === 'allow' }],
  }));
  await interaction.reply({ content: `/${name}: <@&${roleId}> ${value}.`, allowedMentions: { parse: [] } });
}

const command: BotCommand = {
  data: {
    name: 'permissions', description: 'Who may use which command', type: ApplicationCommandType.ChatInput,
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(), dm_permission: false,
    options: [
      {
        type: O.Subcommand, name: 'set', description: 'Allow or deny a command to a role',
        options: [
          { type: O.String, name: 'command', description: 'Command name, like ban', required: true, max_length: 32 },
          { type: O.Role, name: 'role', description: 'The role', required: true },
          { type: O.String, name: 'value', description: 'allow or deny', required: true, choices: [{ name: 'allow', value: 'allow' }, { name: 'deny', value: 'deny' }] },
        ],
      },
      { type: O.Subcommand, name: 'list', description: "This server's overrides" },
    ],
  },
  execute,
};

export const permissions: BotModule = {
  name: 'permissions',
  description: 'Per-server command permissions',
  commands: [command],
};
