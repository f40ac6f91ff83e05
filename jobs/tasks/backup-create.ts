// guild_create_backup: guild settings, roles, channels with their overwrites and (optionally)
// messages, paged 100 at a time, into one archive file (see archive.ts). A checkpoint after each
// channel lets a taken-over run continue where the last one stopped, with the same result.
import { DiscordAPIError } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { TaskContext, TaskResult } from '../runner';
import { type Backup, encode } from './archive';

const TEXT_TYPES = new Set([0, 5]);

export interface BackupOptions {
  messages_per_channel?: number;
  max_messages?: number;
  backup_messages?: boolean;
  password?: string;
}

export async function createBackup(ctx: TaskContext): Promise<TaskResult> {
  const options = ctx.task.data as BackupOptions;
  const perChannel = Math.min(options.messages_per_channel ?? 100, 10_000);
  const maxMessages = options.max_messages ?? 5_000;
  const guildId = ctx.guildId;
  const cp = ctx.checkpoint as { guild?: Backup['guild']; roles?: Backup['roles']; channels?: Backup['channels']; messages?: Backup['messages'] };

  if (!cp.guild) {
    try {
      cp.guild = (await ctx.rest.get(Routes.guild(guildId))) as Backup['guild'];
    } catch (err) {
      if (err instanceof DiscordAPIError && (err.status === 404 || err.status === 403)) throw new Error(`the bot is not in guild ${guildId} (Discord answered ${err.status} ${err.message})`);
      throw err;
    }
    cp.roles = (await ctx.rest.get(Routes.guildRoles(guildId))) as Backup['roles'];
    cp.channels = (await ctx.rest.get(Routes.guildChannels(guildId))) as Backup['channels'];
    cp.messages = {};
    await ctx.status(`captured settings, ${cp.roles.length} roles and ${cp.channels.length} channels`);
    await ctx.saveCheckpoint(cp);
  }

  if (options.backup_messages !== false) {
    let total = Object.values(cp.messages!).reduce((n, list) => n + list.length, 0);
    for (const channel of [...cp.channels!].sort((a, b) => a.position - b.position)) {
      if (!TEXT_TYPES.has(channel.type) || channel.id in cp.messages! || total >= maxMessages) continue;
      const wanted = Math.min(perChannel, maxMessages - total);
      const collected: Backup['messages'][string] = [];
      let before: string | undefined;
      while (collected.length < wanted) {
        const query = new URLSearchParams({ limit: String(Math.min(100, wanted - collected.length)) });
        if (before) query.set('before', before);
        let page: Backup['messages'][string];
        try {
          page = (await ctx.rest.get(Routes.channelMessages(channel.id), { query })) as Backup['messages'][string];
        } catch (err) {
          if (err instanceof DiscordAPIError && (err.status === 403 || err.status === 404)) break; // a channel the bot cannot read
          throw err;
        }
        if (page.length === 0) break;
        collected.push(...page.map((m) => ({ id: m.id, content: m.content, author: { id: m.author.id, username: m.author.username, avatar: m.author.avatar }, timestamp: m.timestamp })));
        before = page[page.length - 1]!.id;
        if (page.length < 100) break;
      }
      cp.messages![channel.id] = collected.reverse(); // oldest first
      total += collected.length;
      await ctx.status(`backed up ${collected.length} messages of #${channel.name}`, { channel_id: channel.id });
      await ctx.saveCheckpoint(cp);
    }
  }

  const backup: Backup = {
    options: { ...options, password: undefined },
    guild: cp.guild,
    roles: cp.roles!,
    channels: cp.channels!,
    messages: cp.messages!,
    meta: { guild_id: guildId, created_at: new Date(ctx.task.created_at).toISOString(), message_count: Object.values(cp.messages!).reduce((n, l) => n + l.length, 0) },
  };
  const file = encode(backup, options.password);
  const filename = `backups/${guildId}/${ctx.task.task_id}.json`;
  await ctx.storage.put(filename, file);
  return { msg: `backup complete: ${backup.roles.length} roles, ${backup.channels.length} channels, ${backup.meta.message_count} messages`, output: { filename, size: file.length } };
}
