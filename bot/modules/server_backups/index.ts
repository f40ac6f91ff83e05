// server_backups: /backups create|list|restore through the jobserver, with live progress.
// Only members with Manage Server (or Administrator) may use them.
import { ApplicationCommandOptionType, ApplicationCommandType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotModule, CommandContext } from '../types';
import { JobserverClient, type TaskView } from './jobserver-client';

const POLL_MS = 1_000;
const WATCH_MS = 15 * 60_000;

async function watch(interaction: ChatInputCommandInteraction, client: JobserverClient, taskId: string, what: string): Promise<void> {
  const deadline = Date.now() + WATCH_MS;
  let shown = '';
  for (;;) {
    const task = await client.get(taskId);
    const last = task.statuses.at(-1)?.msg ?? task.state;
    const text = `${what} \`${taskId}\`: **${task.state}**: ${last}`;
    if (text !== shown) {
      await interaction.editReply(text);
      shown = text;
    }
    if (!['pending', 'running'].includes(task.state) || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  if (!interaction.guildId) {
    await interaction.reply({ content: 'Backups are per server: use this in a server.', ephemeral: true });
    return;
  }
  const perms = interaction.memberPermissions;
  if (!perms?.has(PermissionFlagsBits.ManageGuild) && !perms?.has(PermissionFlagsBits.Administrator)) {
    await interaction.reply({ content: 'You need the Manage Server permission to manage backups.', ephemeral: true });
    return;
  }
  const jobs = new JobserverClient(ctx.config);
  await interaction.deferReply();
  try {
    switch (interaction.options.getSubcommand()) {
      case 'create': {
        const messages = interaction.options.getInteger('messages') ?? 100;
        const taskId = await jobs.create('guild_create_backup', interaction.guildId, { messages_per_channel: messages });
        await watch(interaction, jobs, taskId, 'Backup');
        return;
      }
      case 'list': {
        const tasks = (await jobs.list(interaction.guildId)).filter((t: TaskView) => t.task_name === 'guild_create_backup');
        await interaction.editReply(tasks.length ? tasks.map((t) => `\`${t.task_id}\` ${t.state} (${t.created_at})`).join('\n') : 'No backups yet: /backups create');
        return;
      }
      case 'restore': {
        const backupId = interaction.options.getString('backup_id', true);
        const taskId = await jobs.create('guild_restore_backup', interaction.guildId, { backup_task_id: backupId });
        await watch(interaction, jobs, taskId, 'Restore');
        return;
      }
    }
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, '/backups failed');
    await interaction.editReply(`Could not reach the jobserver: ${(err as Error).message}`);
  }
}

export const serverBackups: BotModule = {
  name: 'server_backups',
  description: 'Back up a server and restore it after a raid',
  commands: [
    {
      data: {
        name: 'backups',
        description: 'Server backups',
        type: ApplicationCommandType.ChatInput,
        default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
        dm_permission: false,
        options: [
          { type: ApplicationCommandOptionType.Subcommand, name: 'create', description: 'Back up this server', options: [{ type: ApplicationCommandOptionType.Integer, name: 'messages', description: 'Messages per channel (default 100)', min_value: 0, max_value: 1000 }] },
          { type: ApplicationCommandOptionType.Subcommand, name: 'list', description: "This server's backups" },
          { type: ApplicationCommandOptionType.Subcommand, name: 'restore', description: 'Restore a backup into this server', options: [{ type: ApplicationCommandOptionType.String, name: 'backup_id', description: 'Id from /backups list', required: true }] },
        ],
      },
      execute,
    },
  ],
};
