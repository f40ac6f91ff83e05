// Guild routes: the guild, audit log, channels, roles, members, bans.
import {
  type APIGuild,
  type APIRole,
  type APIRoleColors,
  AuditLogEvent,
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildFeature,
  GuildVerificationLevel,
  Locale,
  type RESTGetAPIGuildResult,
} from 'discord-api-types/v10';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { guildChannel, isGuildChannelCreateType, newRole, roleColors } from '../payloads';
import { highestRolePosition, P } from '../permissions';
import type { SimAuditEntry, SimGuild, SimWorld } from '../world';
import { actor, auditReason, body, deletedFields, DiscordError, guildOf, invalidForm, need, needAbove, needOverwriteGrant, needRoleGrant, type SimContext, unknown } from './context';
import * as S from './schemas';
import { overwrites } from './schemas';

type Params = { guild: string; id: string };
/** What Discord lists, as old values, in a role's ROLE_DELETE entry. */
const ROLE_DELETE_KEYS = ['name', 'permissions', 'color', 'hoist', 'mentionable'];

export function guildRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const audit = (g: SimGuild, userId: string, action_type: AuditLogEvent, target_id: string | null, changes: SimAuditEntry['changes'], reason?: string) =>
    world.addAudit(g, { action_type, user_id: userId, target_id, changes, ...(reason === undefined ? {} : { reason }) });
  const reasonOf = auditReason;

  app.get<{ Params: Params }>('/guilds/:guild', (req): RESTGetAPIGuildResult => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(a.userId)) throw unknown('Guild');
    return { ...g.guild, roles: [...g.roles.values()], approximate_member_count: g.members.size };
  });

  app.patch<{ Params: Params }>('/guilds/:guild', { schema: { body: S.GuildPatch } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageGuild);
    const b = body<Static<typeof S.GuildPatch>>(req);
    // Images arrive as data URIs and are stored as hashes, like Discord does.
    const image = (key: 'icon' | 'banner' | 'splash', kind: 'icons' | 'banners' | 'splashes') => {
      const value = b[key];
      if (typeof value !== 'string') return value;
      try {
        return world.cdn.putImage(kind, g.guild.id, value);
      } catch (err) {
        throw invalidForm(key, (err as Error).message, 'IMAGE_INVALID');
      }
    };
    // null resets a setting to Discord's default.
    const edits: Partial<APIGuild> = definedOnly({
      name: b.name, description: b.description, icon: image('icon', 'icons'), banner: image('banner', 'banners'), splash: image('splash', 'splashes'),
      verification_level: nullTo(b.verification_level, GuildVerificationLevel.None),
      default_message_notifications: nullTo(b.default_message_notifications, GuildDefaultMessageNotifications.AllMessages),
      explicit_content_filter: nullTo(b.explicit_content_filter, GuildExplicitContentFilter.Disabled),
      afk_channel_id: b.afk_channel_id, afk_timeout: b.afk_timeout, system_channel_id: b.system_channel_id, rules_channel_id: b.rules_channel_id,
      public_updates_channel_id: b.public_updates_channel_id, preferred_locale: nullTo(b.preferred_locale, Locale.EnglishUS),
      premium_progress_bar_enabled: b.premium_progress_bar_enabled, system_channel_flags: b.system_channel_flags,
    });
    const changes = Object.entries(edits).map(([key, new_value]) => ({ key, old_value: g.guild[key as keyof APIGuild], new_value }));
    Object.assign(g.guild, edits);
    world.emitDispatch('GUILD_UPDATE', { ...g.guild, roles: [...g.roles.values()] }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.GuildUpdate, g.guild.id, changes, reasonOf(req));
    return { ...g.guild, roles: [...g.roles.values()] };
  });

  app.get<{ Params: Params; Querystring: { limit?: number; action_type?: number; user_id?: string; before?: string; after?: string } }>('/guilds/:guild/audit-logs', { schema: { querystring: S.AuditLogQuery } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ViewAuditLog);
    const { limit = 50, action_type, user_id, before, after } = req.query;
    const entries = g.audit
      .filter((e) => action_type === undefined || e.action_type === action_type)
      .filter((e) => !user_id || e.user_id === user_id)
      .filter((e) => !before || BigInt(e.id) < BigInt(before))
      .filter((e) => !after || BigInt(e.id) > BigInt(after))
      .slice(0, limit);
    return { audit_log_entries: entries, users: [...new Set(entries.map((e) => e.user_id))].map((id) => world.users.get(id!)).filter(Boolean), webhooks: [], integrations: [], threads: [], application_commands: [], auto_moderation_rules: [], guild_scheduled_events: [] };
  });

  // Channels
  app.get<{ Params: Params }>('/guilds/:guild/channels', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(a.userId)) throw unknown('Guild');
    return [...g.channels.values()];
  });

  app.post<{ Params: Params }>('/guilds/:guild/channels', { schema: { body: S.ChannelCreate } }, (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageChannels);
    const b = body<Static<typeof S.ChannelCreate>>(req);
    const type = b.type ?? ChannelType.GuildText;
    if (!isGuildChannelCreateType(type)) throw invalidForm('type', `Value "${type}" is not a valid enum value.`, 'BASE_TYPE_CHOICES');
    if (b.parent_id != null && g.channels.get(b.parent_id)?.type !== ChannelType.GuildCategory) throw invalidForm('parent_id', 'Category does not exist');
    const permission_overwrites = overwrites(b.permission_overwrites);
    // Creating: only permissions held in the guild (docs, Create Guild Channel).
    needOverwriteGrant(g, a.userId, permission_overwrites, []);
    const textual = type === ChannelType.GuildText || type === ChannelType.GuildAnnouncement;
    const channel = guildChannel({
      id: world.ids.next(), type, guild_id: g.guild.id, name: textual ? b.name.toLowerCase().replace(/\s+/g, '-') : b.name,
      position: b.position ?? g.channels.size, parent_id: b.parent_id ?? null, nsfw: b.nsfw ?? false, topic: b.topic ?? null,
      rate_limit_per_user: b.rate_limit_per_user ?? 0, bitrate: b.bitrate ?? undefined, user_limit: b.user_limit ?? undefined, permission_overwrites,
    });
    g.channels.set(channel.id, channel);
    world.emitDispatch('CHANNEL_CREATE', channel, g.guild.id);
    audit(g, a.userId, AuditLogEvent.ChannelCreate, channel.id, [{ key: 'name', new_value: channel.name }], reasonOf(req));
    return reply.status(201).send(channel);
  });

  app.patch<{ Params: Params }>('/guilds/:guild/channels', { schema: { body: S.ChannelPositions } }, (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageChannels);
    const items = req.body as Static<typeof S.ChannelPositions>;
    for (const [index, item] of items.entries()) {
      const channel = g.channels.get(String(item.id)) as Record<string, unknown> | undefined;
      if (!channel) throw unknown('Channel');
      if (typeof item.position === 'number') channel.position = item.position;
      if (item.parent_id !== undefined) {
        if (item.parent_id !== null && g.channels.get(item.parent_id)?.type !== 4) throw invalidForm(`${index}.parent_id`, 'Category does not exist');
        channel.parent_id = item.parent_id;
      }
      world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    }
    return reply.status(204).send();
  });

  // Roles
  app.get<{ Params: Params }>('/guilds/:guild/roles', (req) => {
    actor(ctx, req);
    return [...guildOf(ctx, req.params.guild).roles.values()];
  });

  app.post<{ Params: Params }>('/guilds/:guild/roles', { schema: { body: S.RoleCreate } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageRoles);
    const b = body<Static<typeof S.RoleCreate>>(req);
    // Discord's default is @everyone's permissions.
    const permissions = b.permissions ?? g.roles.get(g.guild.id)?.permissions ?? '0';
    needRoleGrant(g, a.userId, BigInt(permissions));
    const colors = roleColorsOf(g, b);
    const role = newRole({ id: world.ids.next(), name: b.name || 'new role', position: 1, permissions, color: colors?.primary_color ?? 0, colors, hoist: b.hoist === true, mentionable: b.mentionable === true });
    for (const r of g.roles.values()) if (r.id !== g.guild.id && r.position >= 1) r.position++;
    g.roles.set(role.id, role);
    world.emitDispatch('GUILD_ROLE_CREATE', { guild_id: g.guild.id, role }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.RoleCreate, role.id, [{ key: 'name', new_value: role.name }], reasonOf(req));
    return role;
  });

  app.patch<{ Params: Params }>('/guilds/:guild/roles', { schema: { body: S.RolePositions } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageRoles);
    for (const item of req.body as Static<typeof S.RolePositions>) {
      const role = g.roles.get(item.id);
      if (!role) throw unknown('Role');
      needAbove(g, a.userId, Math.max(role.position, item.position ?? 0));
      if (typeof item.position === 'number' && role.id !== g.guild.id) role.position = item.position;
      world.emitDispatch('GUILD_ROLE_UPDATE', { guild_id: g.guild.id, role }, g.guild.id);
    }
    return [...g.roles.values()];
  });

  app.patch<{ Params: Params }>('/guilds/:guild/roles/:id', { schema: { body: S.RolePatch } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageRoles);
    const role = g.roles.get(req.params.id);
    if (!role) throw unknown('Role');
    needAbove(g, a.userId, role.position);
    const b = body<Static<typeof S.RolePatch>>(req);
    // Only permissions the role gains need to be held by the actor.
    if (b.permissions != null) needRoleGrant(g, a.userId, BigInt(b.permissions) & ~BigInt(role.permissions));
    const colors = roleColorsOf(g, b);
    const icon = b.icon == null ? b.icon : roleIcon(world, g, role.id, b.icon);
    if (b.unicode_emoji != null && !g.guild.features.includes(GuildFeature.RoleIcons)) throw new DiscordError(400, 50101, 'This server needs more boosts to perform this action');
    const edits: Partial<APIRole> = definedOnly({
      name: b.name ?? undefined, permissions: b.permissions ?? undefined, color: colors?.primary_color, colors,
      hoist: b.hoist ?? undefined, mentionable: b.mentionable ?? undefined, icon, unicode_emoji: b.unicode_emoji,
    });
    const changes = Object.entries(edits).map(([key, new_value]) => ({ key, old_value: role[key as keyof APIRole], new_value }));
    Object.assign(role, edits);
    world.emitDispatch('GUILD_ROLE_UPDATE', { guild_id: g.guild.id, role }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.RoleUpdate, role.id, changes, reasonOf(req));
    return role;
  });

  app.delete<{ Params: Params }>('/guilds/:guild/roles/:id', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageRoles);
    const role = g.roles.get(req.params.id);
    if (!role) throw unknown('Role');
    if (role.id === g.guild.id || role.managed) throw new DiscordError(400, 50028, 'Invalid Role');
    needAbove(g, a.userId, role.position);
    g.roles.delete(role.id);
    for (const m of g.members.values()) m.roles = m.roles.filter((r) => r !== role.id);
    world.emitDispatch('GUILD_ROLE_DELETE', { guild_id: g.guild.id, role_id: role.id }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.RoleDelete, role.id, deletedFields(role, ROLE_DELETE_KEYS), reasonOf(req));
    return reply.status(204).send();
  });

  // Members
  app.get<{ Params: Params; Querystring: { limit?: number; after?: string } }>('/guilds/:guild/members', { schema: { querystring: S.MembersQuery } }, (req) => {
    actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const limit = req.query.limit ?? 1;
    const after = BigInt(req.query.after ?? '0');
    return [...g.members.values()].filter((m) => BigInt(m.user.id) > after).sort((x, y) => (BigInt(x.user.id) < BigInt(y.user.id) ? -1 : 1)).slice(0, limit);
  });

  app.get<{ Params: Params; Querystring: { query: string; limit?: number } }>('/guilds/:guild/members/search', { schema: { querystring: S.MemberSearchQuery } }, (req) => {
    actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const q = req.query.query.toLowerCase();
    const limit = req.query.limit ?? 1;
    return [...g.members.values()].filter((m) => m.user.username.toLowerCase().startsWith(q) || m.nick?.toLowerCase().startsWith(q)).slice(0, limit);
  });

  app.get<{ Params: Params }>('/guilds/:guild/members/:id', (req) => {
    actor(ctx, req);
    const member = guildOf(ctx, req.params.guild).members.get(req.params.id);
    if (!member) throw unknown('Member');
    return member;
  });

  app.patch<{ Params: Params }>('/guilds/:guild/members/:id', { schema: { body: S.MemberPatch } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const member = g.members.get(req.params.id);
    if (!member) throw unknown('Member');
    const b = body<Static<typeof S.MemberPatch>>(req);
    if ('nick' in b) need(g, a.userId, P.ManageNicknames);
    if ('roles' in b) {
      need(g, a.userId, P.ManageRoles);
      for (const id of b.roles ?? []) {
        const role = g.roles.get(id);
        if (!role) throw unknown('Role');
        if (!member.roles.includes(role.id)) needAbove(g, a.userId, role.position);
      }
    }
    if ('communication_disabled_until' in b) {
      need(g, a.userId, P.ModerateMembers);
      needAbove(g, a.userId, highestRolePosition(g, member.user.id));
    }
    const changes = [];
    if ('nick' in b) {
      changes.push({ key: 'nick', old_value: member.nick, new_value: b.nick || null });
      member.nick = b.nick || null;
    }
    if ('roles' in b) {
      changes.push({ key: 'roles', old_value: member.roles, new_value: b.roles ?? [] });
      member.roles = [...new Set(b.roles ?? [])];
    }
    if ('communication_disabled_until' in b) {
      changes.push({ key: 'communication_disabled_until', old_value: member.communication_disabled_until, new_value: b.communication_disabled_until ?? null });
      member.communication_disabled_until = b.communication_disabled_until ?? null;
    }
    world.emitDispatch('GUILD_MEMBER_UPDATE', { guild_id: g.guild.id, ...member }, g.guild.id);
    audit(g, a.userId, 'roles' in b ? AuditLogEvent.MemberRoleUpdate : AuditLogEvent.MemberUpdate, member.user.id, changes, reasonOf(req));
    return member;
  });

  for (const method of ['put', 'delete'] as const) {
    app[method]<{ Params: Params & { role: string } }>('/guilds/:guild/members/:id/roles/:role', (req, reply) => {
      const a = actor(ctx, req);
      const g = guildOf(ctx, req.params.guild);
      need(g, a.userId, P.ManageRoles);
      const member = g.members.get(req.params.id);
      if (!member) throw unknown('Member');
      const role = g.roles.get(req.params.role);
      if (!role) throw unknown('Role');
      needAbove(g, a.userId, role.position);
      member.roles = method === 'put' ? [...new Set([...member.roles, role.id])] : member.roles.filter((r) => r !== role.id);
      world.emitDispatch('GUILD_MEMBER_UPDATE', { guild_id: g.guild.id, ...member }, g.guild.id);
      audit(g, a.userId, AuditLogEvent.MemberRoleUpdate, member.user.id, [{ key: method === 'put' ? '$add' : '$remove', new_value: [{ id: role.id, name: role.name }] }], reasonOf(req));
      return reply.status(204).send();
    });
  }

  app.delete<{ Params: Params }>('/guilds/:guild/members/:id', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.KickMembers);
    const member = g.members.get(req.params.id);
    if (!member) throw unknown('Member');
    needAbove(g, a.userId, highestRolePosition(g, member.user.id));
    g.members.delete(member.user.id);
    world.emitDispatch('GUILD_MEMBER_REMOVE', { guild_id: g.guild.id, user: member.user }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.MemberKick, member.user.id, [], reasonOf(req));
    return reply.status(204).send();
  });

  // Bans
  app.get<{ Params: Params }>('/guilds/:guild/bans', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.BanMembers);
    return [...g.bans.values()];
  });

  app.get<{ Params: Params }>('/guilds/:guild/bans/:id', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.BanMembers);
    const ban = g.bans.get(req.params.id);
    if (!ban) throw unknown('Ban');
    return ban;
  });

  app.put<{ Params: Params }>('/guilds/:guild/bans/:id', { schema: { body: S.BanPut } }, (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.BanMembers);
    const user = world.users.get(req.params.id);
    if (!user) throw unknown('User');
    if (g.members.has(user.id)) needAbove(g, a.userId, highestRolePosition(g, user.id));
    g.bans.set(user.id, { user, reason: reasonOf(req) ?? null });
    if (g.members.delete(user.id)) world.emitDispatch('GUILD_MEMBER_REMOVE', { guild_id: g.guild.id, user }, g.guild.id);
    world.emitDispatch('GUILD_BAN_ADD', { guild_id: g.guild.id, user }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.MemberBanAdd, user.id, [], reasonOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: Params }>('/guilds/:guild/bans/:id', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.BanMembers);
    const ban = g.bans.get(req.params.id);
    if (!ban) throw unknown('Ban');
    g.bans.delete(req.params.id);
    world.emitDispatch('GUILD_BAN_REMOVE', { guild_id: g.guild.id, user: ban.user }, g.guild.id);
    audit(g, a.userId, AuditLogEvent.MemberBanRemove, ban.user.id, [], reasonOf(req));
    return reply.status(204).send();
  });
}

/** The properties of `o` that are not undefined (a PATCH changes only what it names). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const nullTo = <T, D>(value: T | null | undefined, fallback: D): T | D | undefined => (value === null ? fallback : value);

/**
 * The colors a role body sets (`colors`, or the deprecated `color`), or undefined. Secondary and
 * tertiary colors need the ENHANCED_ROLE_COLORS feature (docs, Role Colors Object).
 */
function roleColorsOf(g: SimGuild, b: Static<typeof S.RoleCreate>): APIRoleColors | undefined {
  if (b.colors) {
    for (const key of ['secondary_color', 'tertiary_color'] as const) {
      if (b.colors[key] != null && !g.guild.features.includes(GuildFeature.EnhancedRoleColors)) throw invalidForm(`colors.${key}`, 'Enhanced role colors require the ENHANCED_ROLE_COLORS guild feature.');
    }
    return roleColors(b.colors.primary_color ?? b.color ?? 0, { secondary_color: b.colors.secondary_color ?? null, tertiary_color: b.colors.tertiary_color ?? null });
  }
  return b.color === undefined ? undefined : roleColors(b.color ?? 0);
}

/** A role icon (data URI) stored as a hash; only guilds with ROLE_ICONS may set one. */
function roleIcon(world: SimWorld, g: SimGuild, roleId: string, dataUri: string): string {
  if (!g.guild.features.includes(GuildFeature.RoleIcons)) throw new DiscordError(400, 50101, 'This server needs more boosts to perform this action');
  try {
    return world.cdn.putImage('role-icons', roleId, dataUri);
  } catch (err) {
    throw invalidForm('icon', (err as Error).message, 'IMAGE_INVALID');
  }
}
