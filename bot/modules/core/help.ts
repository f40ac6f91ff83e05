// /help: every module and its commands, from the modules' metadata.
import { ApplicationCommandOptionType, ApplicationCommandType } from 'discord-api-types/v10';
import type { BotCommand, BotModule } from '../types';

export function helpText(modules: readonly BotModule[], only?: string, supportServer?: string): string {
  const shown = only ? modules.filter((m) => m.name === only) : modules;
  if (shown.length === 0) return `No module named "${only}". Modules: ${modules.map((m) => m.name).join(', ')}`;
  const lines: string[] = [];
  for (const module of shown) {
    lines.push(`**${module.name}**: ${module.description}`);
    for (const command of module.commands) lines.push(`  /${command.data.name}: ${command.data.description}`);
  }
  if (supportServer) lines.push(`Support: ${supportServer}`);
  return lines.join('\n');
}

export const help: BotCommand = {
  data: {
    name: 'help',
    description: 'List the bot modules and their commands',
    type: ApplicationCommandType.ChatInput,
    options: [{ name: 'module', description: 'Only this module', type: ApplicationCommandOptionType.String, required: false }],
  },
  async execute(interaction, ctx) {
    const only = interaction.options.getString('module') ?? undefined;
    await interaction.reply({ content: helpText(ctx.modules, only, ctx.config.meta.support_server).slice(0, 2000) });
  },
};
