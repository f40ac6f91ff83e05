// Permissions computed as Discord does: @everyone and member roles, owner and Administrator,
// then channel overwrites (everyone, roles, member), and role hierarchy for edits.
import { PermissionFlagsBits } from 'discord-api-types/v10';
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
  const channel = guild.channels.get(channelId) as { permission_overwrites?: { id: string; type: number; allow: string; deny: string }[] } | undefined;
  const overwrites = channel?.permission_overwrites ?? [];
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
