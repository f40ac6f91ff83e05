// Which limit kind an audit-log entry counts as. A member role update counts only when it grants
// a role with a dangerous permission: handing out a cosmetic role is not a nuke.
import { AuditLogEvent, PermissionFlagsBits } from 'discord-api-types/v10';
import type { LimitKind } from './settings';

const BY_ACTION: Partial<Record<AuditLogEvent, LimitKind>> = {
  [AuditLogEvent.ChannelCreate]: 'channel_create',
  [AuditLogEvent.ChannelUpdate]: 'channel_update',
  [AuditLogEvent.ChannelOverwriteCreate]: 'channel_update',
  [AuditLogEvent.ChannelOverwriteUpdate]: 'channel_update',
  [AuditLogEvent.ChannelOverwriteDelete]: 'channel_update',
  [AuditLogEvent.ChannelDelete]: 'channel_delete',
  [AuditLogEvent.RoleCreate]: 'role_create',
  [AuditLogEvent.RoleUpdate]: 'role_update',
  [AuditLogEvent.RoleDelete]: 'role_delete',
  [AuditLogEvent.MemberBanAdd]: 'member_ban',
  [AuditLogEvent.MemberKick]: 'member_kick',
  [AuditLogEvent.MemberRoleUpdate]: 'member_role_update',
  [AuditLogEvent.WebhookCreate]: 'webhook_create',
  [AuditLogEvent.EmojiDelete]: 'emoji_delete',
  [AuditLogEvent.GuildUpdate]: 'guild_update',
};

export const DANGEROUS_PERMISSIONS =
  PermissionFlagsBits.Administrator | PermissionFlagsBits.BanMembers | PermissionFlagsBits.KickMembers | PermissionFlagsBits.ManageChannels |
  PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ManageRoles | PermissionFlagsBits.ManageWebhooks | PermissionFlagsBits.ModerateMembers |
  PermissionFlagsBits.ManageGuildExpressions | PermissionFlagsBits.MentionEveryone;

export interface AuditChange {
  key: string;
  new?: unknown;
}

/** The kind `action` counts as, or undefined; `rolePermissions` gives a role's permissions by id. */
export function kindOf(action: AuditLogEvent, changes: readonly AuditChange[], rolePermissions: (roleId: string) => bigint | undefined): LimitKind | undefined {
  const kind = BY_ACTION[action];
  if (kind !== 'member_role_update') return kind;
  const added = changes.filter((c) => c.key === '$add').flatMap((c) => (Array.isArray(c.new) ? c.new : []));
  const dangerous = added.some((role: { id?: unknown }) => typeof role.id === 'string' && ((rolePermissions(role.id) ?? 0n) & DANGEROUS_PERMISSIONS) !== 0n);
  return dangerous ? kind : undefined;
}
