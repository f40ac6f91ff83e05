// guild_create_backup: guild settings, roles, channels with their overwrites and (optionally)
// messages, paged 100 at a time, into one archive file (see archive.ts). A checkpoint after each
// channel lets a taken-over run continue where the last one stopped, with the same result.
// A channel the bot cannot read is not silently saved as empty: it gets a warning status, is
// listed in the archive's meta.skipped_channels and named in the final message.
import { DiscordAPIError } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { TaskContext, TaskResult } from '../runner';
import type { BackupOptions } from '../task-schemas';
import { type Backup, type SkippedChannel, encode } from './archive';

const TEXT_TYPES = new Set([0, 5]);

/** Why Discord refused to list a channel's messages, for the user; undefined for any other error. */
function whyUnreadable(err: unknown): string | undefined {
  if (!(err instanceof DiscordAPIError)) return undefined;
  if (err.code === 50001) return 'the bot cannot view it (Discord: 50001 Missing Access)';
  if (err.code === 50013) return 'the bot lacks Read Message History there (Discord: 50013 Missing Permissions)';
  if (err.status === 404) return `it was deleted during the backup (Discord: ${err.code} ${err.message})`;
  if (err.status === 403) return `Discord refused to list its messages (${err.code} ${err.message})`;
  return undefined;
}

const ASSET_PATHS = { icon: 'icons', banner: 'banners', splash: 'splashes' } as const;

async function download(url: string): Promise<{ data: string; type: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`downloading ${url} answered ${res.status}`);
  return { data: Buffer.from(await res.arrayBuffer()).toString('base64'), type: res.headers.get('content-type') ?? 'application/octet-stream' };
}

export async function createBackup(ctx: TaskContext): Promise<TaskResult> {
  const options: BackupOptions = ctx.task.data;
  const perChannel = Math.min(options.messages_per_channel ?? 100, 10_000);
  const maxMessages = options.max_messages ?? 5_000;
  const guildId = ctx.guildId;
  const cp = ctx.checkpoint as { members?: Backup['members'] | false; guild?: Backup['guild']; roles?: Backup['roles']; channels?: Backup['channels']; messages?: Backup['messages']; skipped?: SkippedChannel[]; leftover?: number; attachments?: Backup['attachments']; assets?: Backup['assets'] };
  cp.skipped ??= [];

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

  if (cp.members === undefined) {
    cp.members = await memberRoles(ctx);
    await ctx.saveCheckpoint(cp);
  }

  if (options.backup_messages !== false) {
    let total = Object.values(cp.messages!).reduce((n, list) => n + list.length, 0);
    for (const channel of [...cp.channels!].sort((a, b) => a.position - b.position)) {
      if (!TEXT_TYPES.has(channel.type) || channel.id in cp.messages! || cp.skipped.some((c) => c.id === channel.id) || total >= maxMessages) continue;
      const quota = (options.special_allocations?.[channel.id] ?? perChannel) + (options.rollover_leftovers ? (cp.leftover ?? 0) : 0);
      const wanted = Math.min(quota, maxMessages - total);
      const collected: Backup['messages'][string] = [];
      let before: string | undefined;
      let unreadable: string | undefined;
      while (collected.length < wanted) {
        const query = new URLSearchParams({ limit: String(Math.min(100, wanted - collected.length)) });
        if (before) query.set('before', before);
        let page: Backup['messages'][string];
        try {
          page = (await ctx.rest.get(Routes.channelMessages(channel.id), { query })) as Backup['messages'][string];
        } catch (err) {
          unreadable = whyUnreadable(err);
          if (unreadable) break;
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
      if (unreadable) {
        // Nothing of it is kept (a partial history would pass for the whole); its quota rolls over.
        cp.skipped.push({ id: channel.id, name: channel.name, reason: unreadable });
        cp.leftover = quota;
        await ctx.status(`skipped #${channel.name}: ${unreadable}`, { level: 'warning', channel_id: channel.id });
        await ctx.saveCheckpoint(cp);
        continue;
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
    ...(cp.members ? { members: cp.members } : {}),
    meta: {
      guild_id: guildId, created_at: new Date(ctx.task.created_at).toISOString(), message_count: Object.values(cp.messages!).reduce((n, l) => n + l.length, 0),
      skipped_channels: cp.skipped,
    },
  };
  const file = encode(backup, options.password);
  const filename = `backups/${guildId}/${ctx.task.task_id}.json`;
  await ctx.storage.put(filename, file);
  const skipped = cp.skipped.length ? `; skipped ${cp.skipped.length} channel(s) the bot cannot read: ${cp.skipped.map((c) => `#${c.name}`).join(', ')}` : '';
  const owner = typeof cp.guild!.owner_id === 'string' ? { guild_owner_id: cp.guild!.owner_id } : {};
  return {
    msg: `backup complete: ${backup.roles.length} roles, ${backup.channels.length} channels, ${backup.meta.message_count} messages${skipped}`,
    output: { filename, size: file.length, ...owner, skipped_channels: cp.skipped },
  };
}

/**
 * Every member's roles (member restore gives them back), 1000 a page. Discord lists members only
 * to a bot with the Server Members intent: without it the backup has none, and a status says so.
 */
async function memberRoles(ctx: TaskContext): Promise<Backup['members'] | false> {
  const members: NonNullable<Backup['members']> = [];
  for (let after = '0'; ;) {
    let page: { user: { id: string }; roles: string[] }[];
    try {
      page = (await ctx.rest.get(Routes.guildMembers(ctx.guildId), { query: new URLSearchParams({ limit: '1000', after }) })) as typeof page;
    } catch (err) {
      if (!(err instanceof DiscordAPIError && err.status === 403)) throw err;
      await ctx.status(`member roles not backed up: Discord refused to list members (${err.code} ${err.message}; the bot needs the Server Members intent)`, { level: 'warning' });
      return false;
    }
    members.push(...page.map((m) => ({ id: m.user.id, roles: m.roles })));
    if (page.length < 1000) break;
    after = page.at(-1)!.user.id;
  }
  await ctx.status(`backed up the roles of ${members.length} members`);
  return members;
}
