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
  /** Download message attachments into the archive. */
  backup_attachments?: boolean;
  /** Guild images to keep: any of icon, banner, splash (true = all). */
  backup_guild_assets?: boolean | ('icon' | 'banner' | 'splash')[];
  /** A channel with fewer messages than its quota passes the rest on to the next channels. */
  rollover_leftovers?: boolean;
  /** Per-channel quotas that replace messages_per_channel: {<channel id>: count}. */
  special_allocations?: Record<string, number>;
  password?: string;
}

const ASSET_PATHS = { icon: 'icons', banner: 'banners', splash: 'splashes' } as const;

async function download(url: string): Promise<{ data: string; type: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`downloading ${url} answered ${res.status}`);
  return { data: Buffer.from(await res.arrayBuffer()).toString('base64'), type: res.headers.get('content-type') ?? 'application/octet-stream' };
}

export async function createBackup(ctx: TaskContext): Promise<TaskResult> {
  const options = ctx.task.data as BackupOptions;
  const perChannel = Math.min(options.messages_per_channel ?? 100, 10_000);
  const maxMessages = options.max_messages ?? 5_000;
  const guildId = ctx.guildId;
  const cp = ctx.checkpoint as { guild?: Backup['guild']; roles?: Backup['roles']; channels?: Backup['channels']; messages?: Backup['messages']; leftover?: number; attachments?: Backup['attachments']; assets?: Backup['assets'] };

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
      const quota = (options.special_allocations?.[channel.id] ?? perChannel) + (options.rollover_leftovers ? (cp.leftover ?? 0) : 0);
      const wanted = Math.min(quota, maxMessages - total);
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
        collected.push(...page.map((m) => ({
          id: m.id, content: m.content, author: { id: m.author.id, username: m.author.username, avatar: m.author.avatar }, timestamp: m.timestamp,
          ...((m as { attachments?: { id: string; filename: string; url: string }[] }).attachments?.length ? { attachments: (m as unknown as { attachments: { id: string; filename: string; url: string }[] }).attachments } : {}),
        })));
        before = page[page.length - 1]!.id;
        if (page.length < 100) break;
      }
      cp.messages![channel.id] = collected.reverse(); // oldest first
      total += collected.length;
      cp.leftover = Math.max(0, quota - collected.length);
      if (options.backup_attachments) {
        cp.attachments ??= {};
        for (const m of collected) {
          for (const a of (m.attachments ?? []) as { id: string; filename: string; url: string }[]) {
            const file = await download(a.url);
            cp.attachments[a.id] = { filename: a.filename, content_type: file.type, data: file.data };
          }
        }
        for (const m of collected) if (m.attachments) m.attachments = m.attachments.map(({ id, filename }) => ({ id, filename }));
      }
      await ctx.status(`backed up ${collected.length} messages of #${channel.name}`, { channel_id: channel.id });
      await ctx.saveCheckpoint(cp);
    }
  }

  if (options.backup_guild_assets && !cp.assets) {
    const kinds = options.backup_guild_assets === true ? (['icon', 'banner', 'splash'] as const) : options.backup_guild_assets;
    cp.assets = {};
    for (const kind of kinds) {
      const hash = cp.guild![kind] as string | null | undefined;
      if (!hash) continue;
      const file = await download(`${ctx.cdn}/${ASSET_PATHS[kind]}/${guildId}/${hash}.png`);
      cp.assets[kind] = `data:${file.type};base64,${file.data}`;
    }
    await ctx.status(`backed up guild assets: ${Object.keys(cp.assets).join(', ') || 'none set'}`);
    await ctx.saveCheckpoint(cp);
  }

  const backup: Backup = {
    options: { ...options, password: undefined },
    guild: cp.guild,
    roles: cp.roles!,
    channels: cp.channels!,
    messages: cp.messages!,
    ...(cp.attachments ? { attachments: cp.attachments } : {}),
    ...(cp.assets ? { assets: cp.assets } : {}),
    meta: { guild_id: guildId, created_at: new Date(ctx.task.created_at).toISOString(), message_count: Object.values(cp.messages!).reduce((n, l) => n + l.length, 0) },
  };
  const file = encode(backup, options.password);
  const filename = `backups/${guildId}/${ctx.task.task_id}.json`;
  await ctx.storage.put(filename, file);
  return { msg: `backup complete: ${backup.roles.length} roles, ${backup.channels.length} channels, ${backup.meta.message_count} messages`, output: { filename, size: file.length } };
}
