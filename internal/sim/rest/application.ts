// Users, the application, application commands, interaction responses and webhook execution.
import type { APIApplicationCommand, APIMessage } from 'discord-api-types/v10';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { basePermissions } from '../permissions';
import type { SimInteraction } from '../world';
import type { SimWebhook } from './channels';
import { actor, body, DiscordError, guildOf, invalidForm, type SimContext, str, unknown } from './context';
import * as S from './schemas';

type Params = { app: string; guild: string; id: string; token: string };

export function applicationRoutes(app: FastifyInstance, ctx: SimContext, webhooks: Map<string, SimWebhook>): void {
  const { world } = ctx;
  const ownApp = (req: FastifyRequest<{ Params: Partial<Params> }>) => {
    actor(ctx, req);
    if (req.params.app !== world.application.id) throw new DiscordError(403, 50001, 'Missing Access');
  };

  app.get('/users/@me', (req) => world.users.get(actor(ctx, req).userId));
  app.get<{ Params: Params }>('/users/:id', (req) => {
    const a = actor(ctx, req);
    // `%40me` (an encoded @me) reaches this route rather than the static one.
    const user = world.users.get(req.params.id === '@me' ? a.userId : req.params.id);
    if (!user) throw unknown('User');
    return user;
  });
  app.get('/users/@me/guilds', (req) => {
    const a = actor(ctx, req);
    return [...world.guilds.values()]
      .filter((g) => g.members.has(a.userId))
      .map((g) => ({ id: g.guild.id, name: g.guild.name, icon: g.guild.icon, owner: g.guild.owner_id === a.userId, permissions: permissionsString(ctx, g.guild.id, a.userId), features: [] }));
  });
  const application = (req: FastifyRequest) => {
    actor(ctx, req);
    return { ...world.application, name: 'splashtail', description: '', icon: null, bot_public: true, bot_require_code_grant: false, verify_key: '0'.repeat(64), team: null, owner: world.users.values().next().value, bot: world.botUser };
  };
  app.get('/applications/@me', application);
  app.get('/oauth2/applications/@me', application);

  // Application commands, global (/applications/:app/commands) and per guild.
  const commandList = (req: FastifyRequest<{ Params: Partial<Params> }>): APIApplicationCommand[] => {
    ownApp(req);
    if (!req.params.guild) return world.globalCommands;
    guildOf(ctx, req.params.guild);
    let list = world.guildCommands.get(req.params.guild);
    if (!list) world.guildCommands.set(req.params.guild, (list = []));
    return list;
  };
  const toCommand = (raw: unknown, guildId: string | undefined, existing?: APIApplicationCommand): APIApplicationCommand => {
    if (typeof raw !== 'object' || raw === null) throw invalidForm('_root', 'Must be a command object.');
    const b = raw as Record<string, unknown>;
    const name = str(b.name, 'name', { min: 1, max: 32 })!;
    if (!/^[-_\p{L}\p{N}]{1,32}$/u.test(name)) throw invalidForm('name', 'Command name is invalid', 'APPLICATION_COMMAND_INVALID_NAME');
    const type = Number(b.type ?? 1);
    if (type === 1) str(b.description, 'description', { min: 1, max: 100 });
    return {
      id: existing?.id ?? world.ids.next(), application_id: world.application.id, version: world.ids.next(), type, name,
      description: (b.description as string) ?? '', options: (b.options as never) ?? [], default_member_permissions: (b.default_member_permissions as string) ?? null,
      dm_permission: b.dm_permission !== false, nsfw: b.nsfw === true, ...(guildId ? { guild_id: guildId } : {}),
    } as APIApplicationCommand;
  };
  for (const prefix of ['/applications/:app/commands', '/applications/:app/guilds/:guild/commands']) {
    app.get<{ Params: Params }>(prefix, (req) => commandList(req));
    app.post<{ Params: Params }>(prefix, { schema: { body: S.CommandCreate } }, (req, reply) => {
      const list = commandList(req);
      const existing = list.find((c) => c.name === (req.body as { name?: string })?.name);
      const command = toCommand(req.body, req.params.guild, existing);
      if (existing) list.splice(list.indexOf(existing), 1, command);
      else list.push(command);
      return reply.status(existing ? 200 : 201).send(command);
    });
    app.put<{ Params: Params }>(prefix, { schema: { body: S.CommandsPut } }, (req) => {
      const list = commandList(req);
      const next = (req.body as { name: string }[]).map((c) => toCommand(c, req.params.guild, list.find((e) => e.name === c.name)));
      list.splice(0, list.length, ...next);
      return list;
    });
    app.get<{ Params: Params }>(`${prefix}/:id`, (req) => {
      const command = commandList(req).find((c) => c.id === req.params.id);
      if (!command) throw unknown('Application Command');
      return command;
    });
    app.patch<{ Params: Params }>(`${prefix}/:id`, { schema: { body: S.CommandPatch } }, (req) => {
      const list = commandList(req);
      const index = list.findIndex((c) => c.id === req.params.id);
      if (index < 0) throw unknown('Application Command');
      const command = toCommand({ ...(list[index] as object), ...(body(req) as object) }, req.params.guild, list[index]);
      list[index] = command;
      return command;
    });
    app.delete<{ Params: Params }>(`${prefix}/:id`, (req, reply) => {
      const list = commandList(req);
      const index = list.findIndex((c) => c.id === req.params.id);
      if (index < 0) throw unknown('Application Command');
      list.splice(index, 1);
      return reply.status(204).send();
    });
  }

  // Interaction responses (no bot token: the interaction token authorises them).
  const interactionBy = (token: string): SimInteraction => {
    for (const i of world.interactions.values()) if (i.token === token) return i;
    throw unknown('Interaction');
  };
  const botMessage = (i: SimInteraction, data: Record<string, unknown>, extra: Partial<APIMessage> = {}): APIMessage =>
    world.newMessage(i.channel_id, world.botUser, String(data.content ?? ''), { embeds: (data.embeds as never) ?? [], flags: (data.flags as number) ?? 0, webhook_id: world.application.id, application_id: world.application.id, interaction_metadata: { id: i.id, type: 2, user: world.users.get(i.user_id), authorizing_integration_owners: { 0: i.guild_id } } as never, ...extra });

  app.post<{ Params: Params }>('/interactions/:id/:token/callback', { schema: { body: S.InteractionCallback, querystring: S.WithResponseQuery } }, (req, reply) => {
    const i = world.interactions.get(req.params.id);
    if (!i || i.token !== req.params.token) throw unknown('Interaction');
    if (i.callback) throw new DiscordError(400, 40060, 'Interaction has already been acknowledged.');
    const b = body<{ type?: number; data?: Record<string, unknown> }>(req);
    if (![1, 4, 5, 6, 7, 8, 9].includes(Number(b.type))) throw invalidForm('type', 'Value must be one of {1, 4, 5, 6, 7, 8, 9}.', 'BASE_TYPE_CHOICES');
    i.callback = { type: Number(b.type), data: b.data };
    if (b.type === 4 || b.type === 5) {
      const g = guildOf(ctx, i.guild_id);
      i.original = world.postMessage(g, botMessage(i, b.type === 4 ? (b.data ?? {}) : { content: '', flags: 128 }));
    }
    const withResponse = (req.query as { with_response?: boolean }).with_response === true;
    return withResponse ? { interaction: { id: i.id, type: 2 }, resource: { type: b.type, message: i.original } } : reply.status(204).send();
  });

  // `:message` is `@original` or a followup's id.
  type MessageParams = Params & { message: string };
  const responseMessage = (i: SimInteraction, id: string) => (id === '@original' ? i.original : i.followups.find((m) => m.id === id));
  app.get<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', (req) => {
    const message = responseMessage(interactionBy(req.params.token), req.params.message);
    if (!message) throw unknown('Message');
    return message;
  });
  app.patch<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', { schema: { body: S.MessagePatch } }, (req) => {
    const i = interactionBy(req.params.token);
    const g = guildOf(ctx, i.guild_id);
    const b = body(req);
    if (req.params.message === '@original' && !i.original) i.original = world.postMessage(g, botMessage(i, b));
    const message = responseMessage(i, req.params.message);
    if (!message) throw unknown('Message');
    if (b.content !== undefined) message.content = (b.content as string | null) ?? '';
    if (Array.isArray(b.embeds)) message.embeds = b.embeds as never;
    message.edited_timestamp = new Date().toISOString();
    world.emitDispatch('MESSAGE_UPDATE', { ...message, guild_id: g.guild.id }, g.guild.id);
    return message;
  });
  app.delete<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', (req, reply) => {
    const i = interactionBy(req.params.token);
    if (req.params.message !== '@original' || !i.original) throw unknown('Message');
    const g = guildOf(ctx, i.guild_id);
    g.messages.set(i.channel_id, (g.messages.get(i.channel_id) ?? []).filter((m) => m.id !== i.original!.id));
    world.emitDispatch('MESSAGE_DELETE', { id: i.original.id, channel_id: i.channel_id, guild_id: g.guild.id }, g.guild.id);
    i.original = undefined;
    return reply.status(204).send();
  });

  // POST /webhooks/:id/:token: an interaction followup, or a channel webhook execution.
  app.post<{ Params: Params; Querystring: { wait?: boolean } }>('/webhooks/:app/:token', { schema: { body: S.WebhookExecute, querystring: S.WaitQuery } }, (req, reply) => {
    const b = body(req);
    if (!b.content && !(Array.isArray(b.embeds) && b.embeds.length)) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    const content = str(b.content ?? '', 'content', { max: 2000 })!;
    const webhook = webhooks.get(req.params.app);
    if (webhook) {
      if (webhook.token !== req.params.token) throw unknown('Webhook');
      const g = guildOf(ctx, webhook.guild_id);
      const author = { id: webhook.id, username: str(b.username, 'username', { max: 80, optional: true }) ?? webhook.name, avatar: (b.avatar_url as string) ?? null, discriminator: '0000', global_name: null, bot: true };
      const message = world.postMessage(g, world.newMessage(webhook.channel_id, author, content, { embeds: (b.embeds as never) ?? [], webhook_id: webhook.id }));
      return req.query.wait === true ? message : reply.status(204).send();
    }
    const i = interactionBy(req.params.token);
    const message = world.postMessage(guildOf(ctx, i.guild_id), botMessage(i, b));
    i.followups.push(message);
    return message;
  });
}

function permissionsString(ctx: SimContext, guildId: string, userId: string): string {
  return basePermissions(ctx.world.guild(guildId)!, userId).toString();
}
