// guild_restore_backup: checks the bot can manage roles and channels, restores guild settings,
// roles top-down below the bot, categories then channels with remapped overwrites, and replays
// messages through a webhook under each author's name, mentioning no one. Old -> new ids live in
// the checkpoint, and before creating anything the restore looks for it in the guild (roles by
// name, channels by name, type, parent and position, messages by id or as a webhook's replay, see
// restore-messages.ts), so a resumed run adopts what an earlier attempt created after its last
// checkpoint, and a repeated run, or a restore into the backed-up guild itself, creates nothing
// twice. Permissions the bot does not hold are left out of roles and overwrites (Discord refuses
// them), and a status says which.
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { TaskContext, TaskResult } from '../runner';
import type { RestoreOptions } from '../task-schemas';
import { type Backup, decode } from './archive';
import { type Grantable, grantable } from './grantable';
import { missingMessages, replay } from './restore-messages';

const MANAGE_CHANNELS = 1n << 4n;
const MANAGE_ROLES = 1n << 28n;
const ADMINISTRATOR = 1n << 3n;
const SETTINGS = ['name', 'verification_level', 'default_message_notifications', 'explicit_content_filter', 'afk_timeout', 'description'];
/** The marker of replayed messages: one webhook per backup and channel posts them, in order. */
const webhookName = (backupTaskId: string) => `splashtail restore ${backupTaskId.slice(0, 8)}`;

interface Checkpoint {
  roles?: Record<string, string>;
  channels?: Record<string, string>;
  /** Channels whose messages are all replayed. */
  messages?: Record<string, true>;
  settings?: boolean;
  /** What was left out for lack of the bot's own permissions, one line per role or overwrite. */
  reduced?: string[];
  /** The warning about `reduced` was posted (once, also across take-overs). */
  reducedReported?: boolean;
}

type Role = Backup['roles'][number];
type Channel = Backup['channels'][number];

export async function restoreBackup(ctx: TaskContext): Promise<TaskResult> {
  const options = ctx.task.data as RestoreOptions;
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
  const grant = grantable(perms, isAdmin);
  // Create Guild Channel: "Setting MANAGE_ROLES permission in channels is only possible for guild
  // administrators", even for a bot that holds Manage Roles.
  const grantInChannel = grantable(perms & ~MANAGE_ROLES, isAdmin);
  cp.reduced ??= [];

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
  if (everyone) await rest.patch(Routes.guildRole(guildId, guildId), { body: { permissions: reduce(grant, everyone.permissions, '@everyone', cp.reduced) } });
  for (const role of [...backup.roles].filter((r) => r.id !== backup.meta.guild_id && !r.managed).sort((a, b) => b.position - a.position)) {
    if (cp.roles[role.id]) continue;
    const existing = roles.find((r) => r.name === role.name && !r.managed && !Object.values(cp.roles!).includes(r.id));
    if (existing) {
      cp.roles[role.id] = existing.id;
    } else {
      const created = (await rest.post(Routes.guildRoles(guildId), {
        body: { name: role.name, permissions: reduce(grant, role.permissions, `role ${role.name}`, cp.reduced), color: role.color, hoist: role.hoist, mentionable: role.mentionable },
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
        .filter((o): o is typeof o & { id: string } => o.id !== undefined)
        .map((o) => {
          const what = `#${channel.name} overwrite for ${o.type === 0 ? `role ${backup.roles.find((r) => cp.roles![r.id] === o.id)?.name ?? o.id}` : `member ${o.id}`}`;
          return { ...o, allow: reduce(grantInChannel, o.allow, `${what} (allow)`, cp.reduced!), deny: reduce(grantInChannel, o.deny, `${what} (deny)`, cp.reduced!) };
        });
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

  if (cp.reduced.length && !cp.reducedReported) {
    // A status line, not a report: a guild with many overwrites names the first ones only.
    const named = cp.reduced.slice(0, 20).join('; ') + (cp.reduced.length > 20 ? `; and ${cp.reduced.length - 20} more` : '');
    await ctx.status(`left out permissions the bot does not hold (Discord refuses to grant them): ${named}`, { level: 'warning', reduced: cp.reduced.length });
    cp.reducedReported = true;
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
  }

  // Messages, through one webhook per channel and backup.
  let replayed = 0;
  const hookName = webhookName(options.backup_task_id);
  for (const [oldChannel, messages] of Object.entries(backup.messages)) {
    const channelId = cp.channels[oldChannel];
    if (!channelId || cp.messages[oldChannel] === true) continue;
    const missing = await missingMessages(rest, channelId, messages.filter((m) => m.content));
    replayed += await replay(rest, ctx.cdn, channelId, hookName, missing);
    cp.messages[oldChannel] = true;
    await ctx.saveCheckpoint(cp as Record<string, unknown>);
  }
  return { msg: `restore complete: ${Object.keys(cp.roles).length - 1} roles, ${Object.keys(cp.channels).length} channels, ${replayed} messages replayed` };
}

/** `permissions` as far as the bot may grant them; a line in `reduced` names what was dropped. */
function reduce(grant: Grantable, permissions: string, what: string, reduced: string[]): string {
  const { kept, dropped } = grant(permissions);
  const line = `${what}: ${dropped.join(', ')}`;
  if (dropped.length && !reduced.includes(line)) reduced.push(line);
  return kept;
}

/** Deletes a channel or role; one already gone (an earlier attempt deleted it) is fine. */
async function deleteIfThere(rest: REST, route: `/${string}`): Promise<void> {
  try {
    await rest.delete(route, { reason: 'restore backup (full mode)' });
  } catch (err) {
    if (!(err instanceof DiscordAPIError && err.status === 404)) throw err;
  }
}
