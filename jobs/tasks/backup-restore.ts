// guild_restore_backup: checks the bot can manage roles and channels, restores guild settings,
// roles top-down below the bot, categories then channels with remapped overwrites, and replays
// messages through a webhook under each author's name, mentioning no one. Old -> new ids live in
// the checkpoint, and before creating anything the restore looks for it in the guild (roles by
// name, channels by name, type, parent and position, messages by the restore's own webhook), so
// a resumed run adopts what an earlier attempt created after its last checkpoint, and a repeated
// run creates nothing twice.
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { TaskContext, TaskResult } from '../runner';
import { type Backup, decode } from './archive';

const MANAGE_CHANNELS = 1n << 4n;
const MANAGE_ROLES = 1n << 28n;
const ADMINISTRATOR = 1n << 3n;
const SETTINGS = ['name', 'verification_level', 'default_message_notifications', 'explicit_content_filter', 'afk_timeout', 'description'];
/** The marker of replayed messages: one webhook per backup and channel posts them, in order. */
const webhookName = (backupTaskId: string) => `splashtail restore ${backupTaskId.slice(0, 8)}`;

export interface RestoreOptions {
  backup_task_id: string;
  password?: string;
  channel_mode?: 'full' | 'ignore_existing';
  protected_channels?: string[];
  protected_roles?: string[];
}

interface Checkpoint {
  roles?: Record<string, string>;
  channels?: Record<string, string>;
  messages?: Record<string, number>;
  settings?: boolean;
}

type Role = Backup['roles'][number];
type Channel = Backup['channels'][number];

export async function restoreBackup(ctx: TaskContext): Promise<TaskResult> {
  const options = ctx.task.data as unknown as RestoreOptions;
  const backup = decode(await ctx.outputOf(options.backup_task_id), options.password);
  const guildId = ctx.guildId;
  const cp = ctx.checkpoint as Checkpoint;
  cp.roles ??= { [backup.meta.guild_id]: guildId };
  cp.channels ??= {};
  cp.messages ??= {};
  const rest = ctx.rest;
  const protectedChannels = new Set(options.protected_channels ?? []);
  const protectedRoles = new Set(options.protected_roles ?? []);

  // Permissions and the bot's place in the role hierarchy.
  const me = (await rest.get(Routes.user('@me'))) as { id: string };
  const member = (await rest.get(Routes.guildMember(guildId, me.id))) as { roles: string[] };
  let roles = (await rest.get(Routes.guildRoles(guildId))) as Role[];
  const guild = (await rest.get(Routes.guild(guildId))) as { owner_id: string };
  const mine = roles.filter((r) => member.roles.includes(r.id) || r.id === guildId);
  const perms = mine.reduce((p, r) => p | BigInt(r.permissions), 0n);
  const isAdmin = (perms & ADMINISTRATOR) !== 0n || guild.owner_id === me.id;
  if (!isAdmin && ((perms & MANAGE_ROLES) === 0n || (perms & MANAGE_CHANNELS) === 0n)) {
    throw new Error('the bot needs Manage Roles and Manage Channels in the target guild');
  }
  const botTop = Math.max(...mine.map((r) => r.position));

  if (!cp.settings) {
    // Guild images go back as the data URIs they were saved as.
    const body = { ...Object.fromEntries(SETTINGS.filter((k) => k in backup.guild).map((k) => [k, backup.guild[k]])), ...backup.assets };
    await rest.patch(Routes.guild(guildId), { body, reason: 'restore backup' });
    cp.settings = true;
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
    await ctx.status('restored guild settings');
  }

  // Roles: @everyone's permissions, then the others from the top down, all below the bot.
  const everyone = backup.roles.find((r) => r.id === backup.meta.guild_id);
  if (everyone) await rest.patch(Routes.guildRole(guildId, guildId), { body: { permissions: everyone.permissions } });
  for (const role of [...backup.roles].filter((r) => r.id !== backup.meta.guild_id && !r.managed).sort((a, b) => b.position - a.position)) {
    if (cp.roles[role.id]) continue;
    const existing = roles.find((r) => r.name === role.name && !r.managed && !Object.values(cp.roles!).includes(r.id));
    if (existing) {
      cp.roles[role.id] = existing.id;
    } else {
      const created = (await rest.post(Routes.guildRoles(guildId), {
        body: { name: role.name, permissions: role.permissions, color: role.color, hoist: role.hoist, mentionable: role.mentionable },
        reason: 'restore backup',
      })) as Role;
      cp.roles[role.id] = created.id;
    }
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
  }
  roles = (await rest.get(Routes.guildRoles(guildId))) as Role[];
  await ctx.status(`restored ${Object.keys(cp.roles).length - 1} roles`);

  // Channels: categories first so children find their parent.
  let current = (await rest.get(Routes.guildChannels(guildId))) as Channel[];
  const ordered = [...backup.channels].sort((a, b) => (a.type === 4 ? 0 : 1) - (b.type === 4 ? 0 : 1) || a.position - b.position);
  for (const channel of ordered) {
    if (cp.channels[channel.id]) continue;
    const parent = channel.parent_id ? cp.channels[channel.parent_id] ?? null : null;
    const taken = new Set(Object.values(cp.channels));
    const candidates = current.filter((c) => c.name === channel.name && c.type === channel.type && (c.parent_id ?? null) === parent && !taken.has(c.id));
    const existing = candidates.find((c) => c.position === channel.position) ?? candidates[0];
    if (existing) {
      cp.channels[channel.id] = existing.id;
    } else {
      const overwrites = channel.permission_overwrites
        .map((o) => ({ ...o, id: o.type === 0 ? cp.roles![o.id] : o.id }))
        .filter((o): o is typeof o & { id: string } => o.id !== undefined);
      const created = (await rest.post(Routes.guildChannels(guildId), {
        body: { name: channel.name, type: channel.type, topic: channel.topic ?? undefined, nsfw: channel.nsfw, parent_id: parent, permission_overwrites: overwrites, position: channel.position },
        reason: 'restore backup',
      })) as Channel;
      cp.channels[channel.id] = created.id;
    }
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
  }
  await ctx.status(`restored ${Object.keys(cp.channels).length} channels`);

  if (options.channel_mode === 'full') {
    current = (await rest.get(Routes.guildChannels(guildId))) as Channel[];
    const keep = new Set(Object.values(cp.channels));
    for (const c of current) if (!keep.has(c.id) && !protectedChannels.has(c.id)) await deleteIfThere(rest, Routes.channel(c.id));
    const keepRoles = new Set(Object.values(cp.roles));
    for (const r of roles) {
      if (!keepRoles.has(r.id) && !r.managed && r.id !== guildId && r.position < botTop && !protectedRoles.has(r.id)) await deleteIfThere(rest, Routes.guildRole(guildId, r.id));
    }
  }

  // Messages, through one webhook per channel; those it already posted are skipped by count.
  let replayed = 0;
  const hookName = webhookName(options.backup_task_id);
  for (const [oldChannel, messages] of Object.entries(backup.messages)) {
    const channelId = cp.channels[oldChannel];
    const replayable = messages.filter((m) => m.content);
    if (!channelId || (cp.messages[oldChannel] ?? 0) >= replayable.length) continue;
    const hooks = (await rest.get(Routes.channelWebhooks(channelId))) as { id: string; token: string; name: string }[];
    const hook = hooks.find((h) => h.name === hookName) ?? ((await rest.post(Routes.channelWebhooks(channelId), { body: { name: hookName } })) as { id: string; token: string });
    for (let i = await countPostedBy(rest, channelId, hook.id); i < replayable.length; i++) {
      const m = replayable[i]!;
      await rest.post(Routes.webhook(hook.id, hook.token), {
        body: { content: m.content, username: m.author.username, avatar_url: m.author.avatar ?? undefined, allowed_mentions: { parse: [] } },
        auth: false,
      });
      replayed++;
      cp.messages[oldChannel] = i + 1;
      if (i % 20 === 19) await ctx.saveCheckpoint(cp as Record<string, unknown>);
    }
    cp.messages[oldChannel] = replayable.length;
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
  }
  return { msg: `restore complete: ${Object.keys(cp.roles).length - 1} roles, ${Object.keys(cp.channels).length} channels, ${replayed} messages replayed` };
}

/** How many messages the webhook has posted in the channel: pages back only to the webhook's creation. */
async function countPostedBy(rest: REST, channelId: string, hookId: string): Promise<number> {
  let count = 0;
  let before: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '100' });
    if (before) query.set('before', before);
    const page = (await rest.get(Routes.channelMessages(channelId), { query })) as { id: string; webhook_id?: string }[];
    count += page.filter((m) => m.webhook_id === hookId).length;
    if (page.length < 100 || BigInt(page.at(-1)!.id) < BigInt(hookId)) return count;
    before = page.at(-1)!.id;
  }
}

/** Deletes a channel or role; one already gone (an earlier attempt deleted it) is fine. */
async function deleteIfThere(rest: REST, route: `/${string}`): Promise<void> {
  try {
    await rest.delete(route, { reason: 'restore backup (full mode)' });
  } catch (err) {
    if (!(err instanceof DiscordAPIError && err.status === 404)) throw err;
  }
}
