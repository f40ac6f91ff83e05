// server_backups: /backups create|list|restore|members through the jobserver, with live progress.
// Only members with Manage Server (or Administrator) may use them, and only the owner of both
// servers may restore a backup of another server (the jobserver checks it again). Errors are
// worded for the user (user-errors.ts); details go to the log.
import { ApplicationCommandOptionType, ApplicationCommandType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import { UUID } from '../../../internal/task-id';
import type { BotModule, CommandContext } from '../types';
import { JobserverClient, JobserverError, type TaskView } from './jobserver-client';
import { NOT_A_BACKUP, NOT_OWNER_OF_BOTH, UserError, userMessage } from './user-errors';

const POLL_MS = 1_000;
const WATCH_MS = 15 * 60_000;
/** A task id as the jobserver's API takes it. */
const TASK_ID = new RegExp(UUID);

/** The backup to restore into `guildId`, once the user may restore it there. */
async function restorableBackup(interaction: ChatInputCommandInteraction, jobs: JobserverClient, backupId: string, guildId: string): Promise<TaskView> {
  if (!TASK_ID.test(backupId)) throw new UserError(NOT_A_BACKUP);
  const backup = await jobs.get(backupId).catch((err: unknown) => {
    throw err instanceof JobserverError && err.status === 404 ? new UserError(NOT_A_BACKUP) : err;
  });
  if (backup.task_name !== 'guild_create_backup' || backup.state !== 'completed') throw new UserError(NOT_A_BACKUP);
  if (backup.task_for !== `g/${guildId}`) {
    const guild = await interaction.client.guilds.fetch(guildId);
    if (interaction.user.id !== guild.ownerId) throw new UserError(NOT_OWNER_OF_BOTH);
  }
  return backup;
}

async function watch(interaction: ChatInputCommandInteraction, client: JobserverClient, taskId: string, what: string, footer = ''): Promise<void> {
  const deadline = Date.now() + WATCH_MS;
  let shown = '';
  for (;;) {
    const task = await client.get(taskId);
    const last = task.statuses.at(-1)?.msg ?? task.state;
    const text = `${what} \`${taskId}\`: **${task.state}**: ${last}${footer}`;
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
  // Who may: the cluster checked it before (Manage Server by default, or a /permissions override).
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
        const backupId = interaction.options.getString('backup_id', true).trim();
        await restorableBackup(interaction, jobs, backupId, interaction.guildId);
        const taskId = await jobs.create('guild_restore_backup', interaction.guildId, { backup_task_id: backupId, requested_by: interaction.user.id });
        await watch(interaction, jobs, taskId, 'Restore');
        return;
      }
      case 'members': {
        // Members who opted in (on the webserver) are put back, with their roles from the backup if one is named.
        const backupId = interaction.options.getString('backup_id')?.trim();
        if (backupId) await restorableBackup(interaction, jobs, backupId, interaction.guildId);
        const data = backupId ? { backup_task_id: backupId, requested_by: interaction.user.id } : {};
        const taskId = await jobs.create('guild_member_restore', interaction.guildId, data);
        const optIn = `\nMembers opt in to be put back at ${ctx.config.sites.api}/auth/member-restore?guild_id=${interaction.guildId}`;
        await watch(interaction, jobs, taskId, 'Member restore', optIn);
        return;
      }
    }
  } catch (err) {
    if (!(err instanceof UserError)) ctx.logger.warn({ err: (err as Error).message, guild_id: interaction.guildId }, '/backups failed');
    await interaction.editReply(userMessage(err));
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
          { type: ApplicationCommandOptionType.Subcommand, name: 'members', description: 'Put back members who opted in, with their roles from a backup', options: [{ type: ApplicationCommandOptionType.String, name: 'backup_id', description: 'Id from /backups list: give members the roles it saved' }] },
        ],
      },
      execute,
    },
  ],
};
