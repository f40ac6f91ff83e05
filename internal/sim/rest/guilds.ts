// Guild routes: the guild, audit log, channels, roles, members, bans.
import type { APIChannel, APIRole } from 'discord-api-types/v10';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, auditReason, body, DiscordError, guildOf, invalidForm, need, needAbove, type SimContext, str, unknown } from './context';
import * as S from './schemas';
import { overwrites } from './schemas';

type Params = { guild: string; id: string };
const AUDIT = { GUILD_UPDATE: 1, CHANNEL_CREATE: 10, CHANNEL_UPDATE: 11, CHANNEL_DELETE: 12, MEMBER_KICK: 20, MEMBER_BAN_ADD: 22, MEMBER_BAN_REMOVE: 23, MEMBER_UPDATE: 24, MEMBER_ROLE_UPDATE: 25, ROLE_CREATE: 30, ROLE_UPDATE: 31, ROLE_DELETE: 32 };
const GUILD_EDITABLE = ['name', 'description', 'icon', 'banner', 'splash', 'verification_level', 'default_message_notifications', 'explicit_content_filter', 'afk_channel_id', 'afk_timeout', 'system_channel_id', 'rules_channel_id', 'public_updates_channel_id', 'preferred_locale', 'premium_progress_bar_enabled', 'system_channel_flags'];
const CHANNEL_TYPES = new Set([0, 2, 4, 5, 13, 15, 16]);

export function guildRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const audit = (g: SimGuild, userId: string, action_type: number, target_id: string | null, changes?: unknown[], reason?: string) =>
    world.addAudit(g, { action_type, user_id: userId, target_id, changes: changes as never, reason } as never);
  const reasonOf = auditReason;

  app.get<{ Params: Params }>('/guilds/:guild', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(a.userId)) throw unknown('Guild');
    return { ...g.guild, roles: [...g.roles.values()], approximate_member_count: g.members.size };
  });

  app.patch<{ Params: Params }>('/guilds/:guild', { schema: { body: S.GuildPatch } }, (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.ManageGuild);
    const b = body(req);
    if (b.name !== undefined) str(b.name, 'name', { min: 2, max: 100 });
    // Images arrive as data URIs and are stored as hashes, like Discord does.
    for (const [key, kind] of [['icon', 'icons'], ['banner', 'banners'], ['splash', 'splashes']] as const) {
      if (typeof b[key] !== 'string') continue;
      try {
        b[key] = world.cdn.putImage(kind, g.guild.id, b[key] as string);
      } catch (err) {
        throw invalidForm(key, (err as Error).message, 'IMAGE_INVALID');
      }
    }
    const changes = [];
    for (const key of GUILD_EDITABLE) {
      if (!(key in b)) continue;
      changes.push({ key, old_value: (g.guild as never)[key], new_value: b[key] });
      (g.guild as unknown as Record<string, unknown>)[key] = b[key];
    }
    world.emitDispatch('GUILD_UPDATE', { ...g.guild, roles: [...g.roles.values()] }, g.guild.id);
    audit(g, a.userId, AUDIT.GUILD_UPDATE, g.guild.id, changes, reasonOf(req));
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
    const b = body(req);
    const name = str(b.name, 'name', { min: 1, max: 100 })!;
    const type = b.type === undefined ? 0 : Number(b.type);
    if (!CHANNEL_TYPES.has(type)) throw invalidForm('type', `Value "${b.type}" is not a valid enum value.`, 'BASE_TYPE_CHOICES');
    if (b.parent_id != null && g.channels.get(String(b.parent_id))?.type !== 4) throw invalidForm('parent_id', 'Category does not exist');
    const channel = {
      id: world.ids.next(), type, guild_id: g.guild.id, name: type === 0 || type === 5 ? name.toLowerCase().replace(/\s+/g, '-') : name,
      position: typeof b.position === 'number' ? b.position : g.channels.size, parent_id: (b.parent_id as string) ?? null, nsfw: b.nsfw === true,
      topic: (b.topic as string) ?? null, rate_limit_per_user: (b.rate_limit_per_user as number) ?? 0, bitrate: type === 2 || type === 13 ? ((b.bitrate as number) ?? 64000) : undefined,
      user_limit: type === 2 ? ((b.user_limit as number) ?? 0) : undefined,
      permission_overwrites: overwrites(b.permission_overwrites as Static<typeof S.Overwrite>[] | undefined),
    } as unknown as APIChannel;
    g.channels.set(channel.id, channel);
    world.emitDispatch('CHANNEL_CREATE', channel, g.guild.id);
    audit(g, a.userId, AUDIT.CHANNEL_CREATE, channel.id, [{ key: 'name', new_value: channel.name }], reasonOf(req));
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
    const b = body(req);
    const name = (b.name as string | null | undefined) || 'new role';
    const permissions = (b.permissions as string | null | undefined) ?? '0';
    const role = { id: world.ids.next(), name, color: (b.color as number | null) ?? 0, hoist: b.hoist === true, icon: null, unicode_emoji: null, position: 1, permissions, managed: false, mentionable: b.mentionable === true, flags: 0 } as unknown as APIRole;
    for (const r of g.roles.values()) if (r.id !== g.guild.id && r.position >= 1) r.position++;
    g.roles.set(role.id, role);
    world.emitDispatch('GUILD_ROLE_CREATE', { guild_id: g.guild.id, role }, g.guild.id);
    audit(g, a.userId, AUDIT.ROLE_CREATE, role.id, [{ key: 'name', new_value: name }], reasonOf(req));
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
    const b = body(req);
    const changes = [];
    for (const key of ['name', 'color', 'hoist', 'mentionable', 'permissions', 'icon', 'unicode_emoji'] as const) {
      if (!(key in b)) continue;
      const value = key === 'permissions' ? (b.permissions ?? role.permissions) : key === 'name' ? (b.name ?? role.name) : key === 'color' ? (b.color ?? 0) : (b[key] ?? null);
      changes.push({ key, old_value: role[key], new_value: value });
      (role as unknown as Record<string, unknown>)[key] = value;
    }
    world.emitDispatch('GUILD_ROLE_UPDATE', { guild_id: g.guild.id, role }, g.guild.id);
    audit(g, a.userId, AUDIT.ROLE_UPDATE, role.id, changes, reasonOf(req));
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
    audit(g, a.userId, AUDIT.ROLE_DELETE, role.id, [{ key: 'name', old_value: role.name }], reasonOf(req));
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
      needAbove(g, a.userId, highest(g, member.user.id));
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
    audit(g, a.userId, 'roles' in b ? AUDIT.MEMBER_ROLE_UPDATE : AUDIT.MEMBER_UPDATE, member.user.id, changes, reasonOf(req));
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
      audit(g, a.userId, AUDIT.MEMBER_ROLE_UPDATE, member.user.id, [{ key: method === 'put' ? '$add' : '$remove', new_value: [{ id: role.id, name: role.name }] }], reasonOf(req));
      return reply.status(204).send();
    });
  }

  app.delete<{ Params: Params }>('/guilds/:guild/members/:id', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.KickMembers);
    const member = g.members.get(req.params.id);
    if (!member) throw unknown('Member');
    needAbove(g, a.userId, highest(g, member.user.id));
    g.members.delete(member.user.id);
    world.emitDispatch('GUILD_MEMBER_REMOVE', { guild_id: g.guild.id, user: member.user }, g.guild.id);
    audit(g, a.userId, AUDIT.MEMBER_KICK, member.user.id, [], reasonOf(req));
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
    if (g.members.has(user.id)) needAbove(g, a.userId, highest(g, user.id));
    g.bans.set(user.id, { user, reason: reasonOf(req) ?? null });
    if (g.members.delete(user.id)) world.emitDispatch('GUILD_MEMBER_REMOVE', { guild_id: g.guild.id, user }, g.guild.id);
    world.emitDispatch('GUILD_BAN_ADD', { guild_id: g.guild.id, user }, g.guild.id);
    audit(g, a.userId, AUDIT.MEMBER_BAN_ADD, user.id, [], reasonOf(req));
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
    audit(g, a.userId, AUDIT.MEMBER_BAN_REMOVE, ban.user.id, [], reasonOf(req));
    return reply.status(204).send();
  });
}

function highest(g: SimGuild, userId: string): number {
  if (g.guild.owner_id === userId) return Number.POSITIVE_INFINITY;
  return Math.max(0, ...(g.members.get(userId)?.roles ?? []).map((r) => g.roles.get(r)?.position ?? 0));
}
