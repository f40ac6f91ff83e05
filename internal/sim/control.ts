// The control API under /_sim: what tests and developers use to act as users, shape the
// world, poke the gateway and read counters.
import { randomBytes } from 'node:crypto';
import { type APIUser, ChannelType, type PresenceUpdateReceiveStatus, PresenceUpdateStatus } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { shardFor } from '../gateway/protocol';
import { prng } from './snowflake';
import { addMember, createGuild } from './generate';
import { createSticker, setEventInterest, setPresence, setVoiceState } from './guild-entities';
import { runLoad } from './load-generator';
import type { SimGateway } from './gateway';
import { basePermissions, channelPermissions } from './permissions';
import { DiscordError, invalidForm, type SimContext, str, unknown } from './rest/context';

export function controlRoutes(app: FastifyInstance, ctx: SimContext, gateway: SimGateway, shards: number): void {
  const { world } = ctx;
  const guild = (id: string) => {
    const g = world.guild(id);
    if (!g) throw unknown('Guild');
    return g;
  };
  const member = (guildId: string, userId: string | undefined) => {
    const g = guild(guildId);
    const m = userId ? g.members.get(userId) : [...g.members.values()].find((x) => !x.user.bot && x.user.id !== g.guild.owner_id) ?? [...g.members.values()].find((x) => !x.user.bot);
    if (!m) throw invalidForm('author_id', `User ${userId ?? '(any)'} is not a member of guild ${guildId}.`);
    return m;
  };
  const obj = (b: unknown) => (typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {});

  app.get('/_sim/stats', () => gateway.stats());

  app.get('/_sim/guilds', () =>
    [...world.guilds.values()].map((g) => ({
      id: g.guild.id, name: g.guild.name, owner_id: g.guild.owner_id, shard: shardFor(g.guild.id, shards), member_count: g.members.size,
      channels: [...g.channels.values()].map((c) => ({ id: c.id, name: (c as { name?: string }).name, type: c.type })),
    })),
  );

  app.get<{ Params: { g: string } }>('/_sim/guilds/:g/state', (req) => {
    const g = guild(req.params.g);
    return {
      guild: g.guild, channels: [...g.channels.values()], roles: [...g.roles.values()].sort((a, b) => a.position - b.position),
      members: [...g.members.values()], bans: [...g.bans.values()], audit_log: g.audit,
      messages: Object.fromEntries([...g.messages].map(([c, list]) => [c, list])),
    };
  });

  app.post('/_sim/guilds', (req, reply) => {
    const b = obj(req.body);
    const owner = b.owner_id ? world.users.get(String(b.owner_id)) : [...world.users.values()].find((u) => !u.bot);
    if (!owner) throw invalidForm('owner_id', 'Unknown user.');
    const g = createGuild(world, { id: world.ids.next(), name: str(b.name ?? 'New Guild', 'name', { min: 2, max: 100 })!, ownerId: owner.id, idGen: () => world.ids.next(), populated: b.populated === true });
    world.emitDispatch('GUILD_CREATE', world.guildCreate(g.guild.id), g.guild.id);
    return reply.status(201).send({ id: g.guild.id, shard: shardFor(g.guild.id, shards) });
  });

  app.post('/_sim/users', (req, reply) => {
    const b = obj(req.body);
    const user: APIUser = { id: world.ids.next(), username: str(b.username ?? `user${world.users.size}`, 'username', { min: 2, max: 32 })!, discriminator: '0', global_name: null, avatar: null };
    world.users.set(user.id, user);
    return reply.status(201).send(user);
  });

  app.post<{ Params: { g: string } }>('/_sim/guilds/:g/members', (req, reply) => {
    const g = guild(req.params.g);
    const b = obj(req.body);
    const user = world.users.get(String(b.user_id ?? ''));
    if (!user) throw invalidForm('user_id', 'Unknown user.');
    if (g.bans.has(user.id)) throw new DiscordError(403, 40007, 'The user is banned from this guild.');
    addMember(g, user, []);
    world.emitDispatch('GUILD_MEMBER_ADD', { guild_id: g.guild.id, ...g.members.get(user.id) }, g.guild.id);
    return reply.status(201).send(g.members.get(user.id));
  });

  app.delete<{ Params: { g: string; u: string } }>('/_sim/guilds/:g/members/:u', (req, reply) => {
    const g = guild(req.params.g);
    const m = g.members.get(req.params.u);
    if (!m) throw unknown('Member');
    if (g.voiceStates.has(m.user.id)) setVoiceState(world, g, m.user.id, null);
    g.members.delete(m.user.id);
    g.presences.delete(m.user.id);
    world.emitDispatch('GUILD_MEMBER_REMOVE', { guild_id: g.guild.id, user: m.user }, g.guild.id);
    return reply.status(204).send();
  });

  app.post<{ Params: { g: string; c: string } }>('/_sim/guilds/:g/channels/:c/messages', (req) => {
    const g = guild(req.params.g);
    if (!g.channels.has(req.params.c)) throw unknown('Channel');
    const b = obj(req.body);
    const author = member(g.guild.id, b.author_id === undefined ? undefined : String(b.author_id));
    const content = str(b.content, 'content', { min: 1, max: 2000 })!;
    const botId = world.botUser.id;
    const mentions = content.includes(`<@${botId}>`) ? [world.botUser] : [];
    // Optional files: [{filename, content_type?, data (base64)}], served by the sim's CDN.
    const files = Array.isArray(b.attachments) ? (b.attachments as { filename?: unknown; content_type?: unknown; data?: unknown }[]) : [];
    const attachments = files.map((f, i) => {
      const filename = str(f.filename, `attachments.${i}.filename`, { min: 1, max: 100 })!;
      const body = Buffer.from(str(f.data, `attachments.${i}.data`, { max: 8 << 20 })!, 'base64');
      const id = world.ids.next();
      const type = typeof f.content_type === 'string' ? f.content_type : 'application/octet-stream';
      const url = world.cdn.put(`attachments/${req.params.c}/${id}/${filename}`, body, type);
      return { id, filename, size: body.length, url, proxy_url: url, content_type: type };
    });
    return world.postMessage(g, world.newMessage(req.params.c, author.user, content, { mentions, attachments }));
  });

  app.patch<{ Params: { g: string; c: string; m: string } }>('/_sim/guilds/:g/channels/:c/messages/:m', (req) => {
    const g = guild(req.params.g);
    const message = g.messages.get(req.params.c)?.find((m) => m.id === req.params.m);
    if (!message) throw unknown('Message');
    message.content = str(obj(req.body).content, 'content', { min: 1, max: 2000 })!;
    message.edited_timestamp = new Date().toISOString();
    world.emitDispatch('MESSAGE_UPDATE', { ...message, guild_id: g.guild.id }, g.guild.id);
    return message;
  });

  app.delete<{ Params: { g: string; c: string; m: string } }>('/_sim/guilds/:g/channels/:c/messages/:m', (req, reply) => {
    const g = guild(req.params.g);
    const list = g.messages.get(req.params.c) ?? [];
    const index = list.findIndex((m) => m.id === req.params.m);
    if (index < 0) throw unknown('Message');
    list.splice(index, 1);
    world.emitDispatch('MESSAGE_DELETE', { id: req.params.m, channel_id: req.params.c, guild_id: g.guild.id }, g.guild.id);
    return reply.status(204).send();
  });

  // Any REST route as any user, with that user's permissions (a raider creating channels...).
  app.post('/_sim/act', async (req, reply) => {
    const b = obj(req.body);
    const userId = String(b.user_id ?? '');
    if (!world.users.has(userId)) throw invalidForm('user_id', 'Unknown user.');
    const method = String(b.method ?? 'GET').toUpperCase();
    if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw invalidForm('method', 'Must be an HTTP method.');
    const path = str(b.path, 'path', { min: 2, max: 500 })!;
    if (!path.startsWith('/')) throw invalidForm('path', 'Must start with / (relative to /api/v10).');
    const token = randomBytes(12).toString('hex');
    ctx.bearerTokens.set(token, userId);
    try {
      // `reason` becomes the X-Audit-Log-Reason header, URL-encoded as clients send it.
      const reason = b.reason === undefined ? {} : { 'x-audit-log-reason': encodeURIComponent(str(b.reason, 'reason', { max: 512 })!) };
      const res = await app.inject({ method: method as 'GET', url: `/api/v10${path}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...reason }, payload: b.body === undefined ? undefined : JSON.stringify(b.body) });
      if (!res.body) return reply.status(res.statusCode).send();
      return reply.status(res.statusCode).header('content-type', 'application/json').send(res.body);
    } finally {
      ctx.bearerTokens.delete(token);
    }
  });

  app.post('/_sim/interactions', (req, reply) => {
    const b = obj(req.body);
    const g = guild(String(b.guild_id ?? ''));
    const channel = g.channels.get(String(b.channel_id ?? ''));
    if (!channel) throw unknown('Channel');
    const m = member(g.guild.id, b.user_id === undefined ? undefined : String(b.user_id));
    const name = str(b.command_name, 'command_name', { min: 1, max: 32 })!;
    const command = [...(world.guildCommands.get(g.guild.id) ?? []), ...world.globalCommands].find((c) => c.name === name);
    const id = world.ids.next();
    const token = `sim.${randomBytes(24).toString('base64url')}`;
    world.interactions.set(id, { id, token, guild_id: g.guild.id, channel_id: channel.id, user_id: m.user.id, command_name: name, created_at: Date.now(), followups: [] });
    world.emitDispatch('INTERACTION_CREATE', {
      id, application_id: world.application.id, type: 2, token, version: 1, guild_id: g.guild.id, channel_id: channel.id, channel,
      data: { id: command?.id ?? world.ids.next(), name, type: 1, options: Array.isArray(b.options) ? b.options : [], guild_id: command?.guild_id },
      member: { ...m, permissions: channelPermissions(g, m.user.id, channel.id).toString() },
      app_permissions: channelPermissions(g, world.botUser.id, channel.id).toString(), locale: 'en-US', guild_locale: 'en-US',
      entitlements: [], authorizing_integration_owners: { 0: g.guild.id }, context: 0, attachment_size_limit: 26214400,
      guild: { id: g.guild.id, locale: 'en-US', features: [] },
    }, g.guild.id);
    return reply.status(201).send({ id, token, member_permissions: basePermissions(g, m.user.id).toString() });
  });

  app.get<{ Params: { id: string } }>('/_sim/interactions/:id', (req) => {
    const i = world.interactions.get(req.params.id);
    if (!i) throw unknown('Interaction');
    return { id: i.id, command_name: i.command_name, callback: i.callback ?? null, original: i.original ?? null, followups: i.followups };
  });

  // A burst of MESSAGE_CREATEs (content = emission time in ms) for throughput benchmarks.
  app.post('/_sim/burst', (req) => {
    const b = obj(req.body);
    const count = Number(b.count ?? 1000);
    if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw invalidForm('count', 'Must be an integer 1-1000000.');
    const g = guild(String(b.guild_id ?? world.guildIds()[0] ?? ''));
    const channel = [...g.channels.values()].find((c) => c.type === 0);
    if (!channel) throw unknown('Channel');
    const author = member(g.guild.id, undefined).user;
    for (let i = 0; i < count; i++) {
      const message = world.newMessage(channel.id, author, String(Date.now()));
      world.emitDispatch('MESSAGE_CREATE', { ...message, guild_id: g.guild.id }, g.guild.id);
    }
    return { count, guild_id: g.guild.id, channel_id: channel.id };
  });

  // A seeded batch of every kind of guild event at once (the load generator's actions).
  app.post('/_sim/load', (req) => {
    const b = obj(req.body);
    const events = Number(b.events ?? 1000);
    if (!Number.isInteger(events) || events < 1 || events > 1_000_000) throw invalidForm('events', 'Must be an integer 1-1000000.');
    const seed = Number(b.seed ?? 1);
    if (!Number.isInteger(seed)) throw invalidForm('seed', 'Must be an integer.');
    const kinds = runLoad(world, events, prng(seed));
    return { events: Object.values(kinds).reduce((a, n) => a + n, 0), kinds };
  });

  // What users do that no bot REST route does: voice, presence, event interest.
  app.post<{ Params: { g: string } }>('/_sim/guilds/:g/voice', (req, reply) => {
    const g = guild(req.params.g);
    const b = obj(req.body);
    const m = member(g.guild.id, String(b.user_id ?? ''));
    const channelId = b.channel_id === null ? null : str(b.channel_id, 'channel_id', { min: 1, max: 20 })!;
    const type = channelId === null ? undefined : g.channels.get(channelId)?.type;
    if (channelId !== null && type !== ChannelType.GuildVoice && type !== ChannelType.GuildStageVoice) throw invalidForm('channel_id', 'Must be a voice or stage channel of the guild, or null to leave.');
    setVoiceState(world, g, m.user.id, channelId, { self_mute: b.self_mute === true, self_deaf: b.self_deaf === true });
    return reply.status(204).send();
  });

  app.post<{ Params: { g: string } }>('/_sim/guilds/:g/presences', (req, reply) => {
    const g = guild(req.params.g);
    const b = obj(req.body);
    const m = member(g.guild.id, String(b.user_id ?? ''));
    const statuses: PresenceUpdateReceiveStatus[] = [PresenceUpdateStatus.Online, PresenceUpdateStatus.Idle, PresenceUpdateStatus.DoNotDisturb, PresenceUpdateStatus.Offline];
    const status = statuses.find((s) => s === b.status);
    if (!status) throw invalidForm('status', 'Must be online, idle, dnd or offline.', 'BASE_TYPE_CHOICES');
    setPresence(world, g, m.user.id, status);
    return reply.status(204).send();
  });

  // Discord takes stickers as a multipart upload, which the sim's REST does not parse.
  app.post<{ Params: { g: string } }>('/_sim/guilds/:g/stickers', (req, reply) => {
    const g = guild(req.params.g);
    const b = obj(req.body);
    const m = member(g.guild.id, b.user_id === undefined ? g.guild.owner_id : String(b.user_id));
    const sticker = createSticker(world, g, m.user.id, str(b.name, 'name', { min: 2, max: 30 })!, str(b.tags ?? 'sim', 'tags', { min: 2, max: 200 })!, str(b.description, 'description', { min: 2, max: 100, optional: true }) ?? null);
    return reply.status(201).send(sticker);
  });

  // PUT marks a member interested in a scheduled event, DELETE takes it back.
  app.route<{ Params: { g: string; e: string; u: string } }>({
    method: ['PUT', 'DELETE'],
    url: '/_sim/guilds/:g/scheduled-events/:e/users/:u',
    handler: (req, reply) => {
      const g = guild(req.params.g);
      const event = g.scheduledEvents.get(req.params.e);
      if (!event) throw new DiscordError(404, 10070, 'Unknown Guild Scheduled Event');
      setEventInterest(world, g, event, member(g.guild.id, req.params.u).user.id, req.method === 'PUT');
      return reply.status(204).send();
    },
  });

  app.get('/_sim/commands', () => ({ global: world.globalCommands, guilds: Object.fromEntries(world.guildCommands) }));

  // Every connection that served one of the shard's sessions, oldest first.
  app.get<{ Params: { id: string } }>('/_sim/shards/:id/connections', (req) => {
    const shard = Number(req.params.id);
    if (!Number.isInteger(shard) || shard < 0 || shard >= shards) throw invalidForm('id', `Must be a shard number below ${shards}.`);
    return { shard, ...gateway.connections.list(shard) };
  });

  app.post<{ Params: { id: string; action: string } }>('/_sim/shards/:id/:action', (req) => {
    const shard = Number(req.params.id);
    if (!Number.isInteger(shard) || shard < 0) throw invalidForm('id', 'Must be a shard number.');
    const b = obj(req.body);
    switch (req.params.action) {
      case 'reconnect':
        return { sessions: gateway.forceReconnect(shard) };
      case 'invalid-session':
        return { sessions: gateway.forceInvalidSession(shard, b.resumable === true) };
      case 'disconnect':
        return { sessions: gateway.disconnect(shard, typeof b.code === 'number' ? b.code : undefined) };
      default:
        throw new DiscordError(404, 0, `Unknown shard action "${req.params.action}"; use reconnect, invalid-session or disconnect.`);
    }
  });
}
