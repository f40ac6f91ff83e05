// The `revert` option of a channel_delete or role_delete rule: once the rule fires, what that user
// deleted within the rule's window is created again. The snapshot of each deleted channel or role
// is its audit entry's changes (Discord lists the deleted object's fields as old values) completed
// by the bot's own cache (position and parent, which the entry does not carry): the cache as the
// CHANNEL_DELETE / GUILD_ROLE_DELETE left it (./deleted-cache.ts), or the object itself when the
// audit entry came first. Permissions are recreated only as far as the bot holds them (Discord
// refuses the rest), categories before the channels they held, which are put back under the new
// category. Snapshots live in this process: a guild's events go to one cluster.
import { ChannelType, PermissionFlagsBits, Routes, type APIOverwrite } from 'discord-api-types/v10';
import type { Guild } from 'discord.js';
import type { CommandContext } from '../types';
import type { DeletedCache } from './deleted-cache';

export interface ChannelSnapshot {
  what: 'channel';
  id: string;
  name: string;
  type: ChannelType;
  position?: number;
  parent_id?: string | null;
  permission_overwrites: APIOverwrite[];
  nsfw?: boolean;
  rate_limit_per_user?: number;
  topic?: string | null;
}

export interface RoleSnapshot {
  what: 'role';
  id: string;
  name: string;
  color: number;
  hoist: boolean;
  mentionable: boolean;
  permissions: bigint;
  position?: number;
}

export type Snapshot = ChannelSnapshot | RoleSnapshot;

type Change = { key: string; old?: unknown };

/** A snapshot of what an audit entry says was deleted, completed by the cache. */
export function snapshotOf(guild: Guild, what: Snapshot['what'], targetId: string, changes: readonly Change[], cache: DeletedCache): Snapshot | undefined {
  const old = Object.fromEntries(changes.map((c) => [c.key, c.old]));
  if (typeof old.name !== 'string') return undefined;
  if (what === 'channel') {
    const cached = cache.channel(guild, targetId);
    return {
      what, id: targetId, name: old.name, type: typeof old.type === 'number' ? old.type : (cached?.type ?? ChannelType.GuildText),
      permission_overwrites: Array.isArray(old.permission_overwrites) ? (old.permission_overwrites as APIOverwrite[]) : [],
      nsfw: old.nsfw === true, rate_limit_per_user: typeof old.rate_limit_per_user === 'number' ? old.rate_limit_per_user : undefined,
      position: cached?.position, parent_id: cached?.parent_id, topic: cached?.topic,
    };
  }
  const cached = cache.role(guild, targetId);
  return {
    what, id: targetId, name: old.name, color: typeof old.color === 'number' ? old.color : 0, hoist: old.hoist === true, mentionable: old.mentionable === true,
    permissions: typeof old.permissions === 'string' ? BigInt(old.permissions) : 0n, position: cached?.position,
  };
}

/** Deletions remembered per (guild, user) until a rule fires or they age out. */
export class DeletedByUser {
  private readonly byUser = new Map<string, { at: number; snapshot: Snapshot }[]>();

  remember(guildId: string, userId: string, snapshot: Snapshot, keepMs: number): void {
    const key = `${guildId}:${userId}`;
    const now = Date.now();
    const list = (this.byUser.get(key) ?? []).filter((d) => d.at > now - keepMs);
    list.push({ at: now, snapshot });
    this.byUser.set(key, list);
  }

  /** Hands over (and forgets) what the user deleted within the last `windowMs`. */
  take(guildId: string, userId: string, windowMs: number): Snapshot[] {
    const key = `${guildId}:${userId}`;
    const list = this.byUser.get(key) ?? [];
    this.byUser.delete(key);
    return list.filter((d) => d.at > Date.now() - windowMs).map((d) => d.snapshot);
  }
}

/** Creates the snapshots again; returns a line per object for the mod log. */
export async function recreate(ctx: CommandContext, guild: Guild, snapshots: Snapshot[], reason: string): Promise<string[]> {
  const me = await guild.members.fetchMe();
  const grantable = me.permissions.has(PermissionFlagsBits.Administrator) ? ~0n : me.permissions.bitfield;
  const mask = (bits: string | bigint) => (BigInt(bits) & grantable).toString();
  const lines: string[] = [];
  const newIds = new Map<string, string>();
  // Categories first, so their channels can be put back under them.
  const ordered = [...snapshots].sort((a, b) => rank(a) - rank(b));
  for (const s of ordered) {
    try {
      if (s.what === 'role') {
        const role = (await ctx.client.rest.post(Routes.guildRoles(guild.id), {
          body: { name: s.name, color: s.color, hoist: s.hoist, mentionable: s.mentionable, permissions: mask(s.permissions) }, reason,
        })) as { id: string };
        // Only below the bot's own role: Discord refuses to move a role above it.
        if (s.position !== undefined && s.position < me.roles.highest.rawPosition) {
          await ctx.client.rest.patch(Routes.guildRoles(guild.id), { body: [{ id: role.id, position: s.position }], reason });
        }
        lines.push(`role @${s.name} recreated`);
        continue;
      }
      const parent = s.parent_id ? (newIds.get(s.parent_id) ?? (guild.channels.cache.has(s.parent_id) ? s.parent_id : undefined)) : undefined;
      const channel = (await ctx.client.rest.post(Routes.guildChannels(guild.id), {
        body: {
          name: s.name, type: s.type, position: s.position, parent_id: parent, nsfw: s.nsfw, rate_limit_per_user: s.rate_limit_per_user, topic: s.topic ?? undefined,
          permission_overwrites: s.permission_overwrites.map((o) => ({ id: o.id, type: o.type, allow: mask(o.allow), deny: mask(o.deny) })),
        },
        reason,
      })) as { id: string };
      newIds.set(s.id, channel.id);
      lines.push(`channel #${s.name} recreated`);
    } catch (err) {
      lines.push(`${s.what} ${s.name} NOT recreated: ${(err as Error).message}`);
    }
  }
  return lines;
}

const rank = (s: Snapshot) => (s.what === 'channel' && s.type === ChannelType.GuildCategory ? 0 : 1);
