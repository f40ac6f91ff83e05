// Permissions computed as Discord does: @everyone and member roles, owner and Administrator,
// then channel overwrites (everyone, roles, member), role hierarchy for edits, and which
// permissions an actor may grant (only those it holds).
import { type APIOverwrite, PermissionFlagsBits } from 'discord-api-types/v10';
import type { SimGuild } from './world';

export const P = PermissionFlagsBits;
export const ALL_PERMISSIONS = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);

export function basePermissions(guild: SimGuild, userId: string): bigint {
  if (guild.guild.owner_id === userId) return ALL_PERMISSIONS;
  const member = guild.members.get(userId);
  if (!member) return 0n;
  let perms = BigInt(guild.roles.get(guild.guild.id)?.permissions ?? '0');
  for (const roleId of member.roles) perms |= BigInt(guild.roles.get(roleId)?.permissions ?? '0');
  return perms & P.Administrator ? ALL_PERMISSIONS : perms;
}

export function channelPermissions(guild: SimGuild, userId: string, channelId: string): bigint {
  let perms = basePermissions(guild, userId);
  if (perms & P.Administrator) return ALL_PERMISSIONS;
  const overwrites = overwritesOf(guild, channelId);
  const member = guild.members.get(userId);
  const everyone = overwrites.find((o) => o.id === guild.guild.id);
  if (everyone) perms = (perms & ~BigInt(everyone.deny)) | BigInt(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && o.id !== guild.guild.id && member?.roles.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  perms = (perms & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === userId);
  if (own) perms = (perms & ~BigInt(own.deny)) | BigInt(own.allow);
  return perms;
}

/** Position of the member's highest role (the owner outranks everyone). */
export function highestRolePosition(guild: SimGuild, userId: string): number {
  if (guild.guild.owner_id === userId) return Number.POSITIVE_INFINITY;
  const member = guild.members.get(userId);
  return Math.max(0, ...(member?.roles ?? []).map((r) => guild.roles.get(r)?.position ?? 0));
}

function overwritesOf(guild: SimGuild, channelId: string): APIOverwrite[] {
  const channel = guild.channels.get(channelId);
  return channel && 'permission_overwrites' in channel ? (channel.permission_overwrites ?? []) : [];
}

/**
 * Permission bits in `bits` the user may not give a role: Discord refuses any the actor does not
 * hold (the owner and Administrator hold all). 0n when every bit may be granted.
 */
export function ungrantableRoleBits(guild: SimGuild, userId: string, bits: bigint): bigint {
  return bits & ~basePermissions(guild, userId);
}

/**
 * Bits of overwrites the user may not allow or deny (docs, Edit Channel Permissions): only
 * permissions held in the guild or the parent channel, and MANAGE_ROLES only for administrators;
 * an explicit MANAGE_ROLES overwrite for the user in the channel lifts both limits. `bits` are the
 * allow|deny bits the request adds.
 */
export function ungrantableOverwriteBits(guild: SimGuild, userId: string, bits: bigint, channelId?: string, parentId?: string | null): bigint {
  const base = basePermissions(guild, userId);
  if (base & P.Administrator) return 0n;
  if (channelId && hasManageRolesOverwrite(guild, userId, channelId)) return 0n;
  const held = (base | (parentId && guild.channels.has(parentId) ? channelPermissions(guild, userId, parentId) : 0n)) & ~P.ManageRoles;
  return bits & ~held;
}

function hasManageRolesOverwrite(guild: SimGuild, userId: string, channelId: string): boolean {
  const roles = guild.members.get(userId)?.roles ?? [];
  return overwritesOf(guild, channelId).some((o) => (o.type === 1 ? o.id === userId : roles.includes(o.id)) && BigInt(o.allow) & P.ManageRoles);
}
