// Users, the application, application commands, interaction responses and webhook execution.
import {
  type APIApplication,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
  type APIMessage,
  type APIMessageInteractionMetadata,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionType,
  type RESTGetAPICurrentUserGuildsResult,
} from 'discord-api-types/v10';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { basePermissions } from '../permissions';
import type { SimInteraction } from '../world';
import type { SimWebhook } from './channels';
import { actor, body, DiscordError, guildOf, invalidForm, type SimContext, str, unknown } from './context';
import * as S from './schemas';

type Params = { app: string; guild: string; id: string; token: string };
type MessageBody = Static<typeof S.MessagePatch>;

const invalidWebhookToken = () => new DiscordError(401, 50027, 'Invalid Webhook Token');

export function applicationRoutes(app: FastifyInstance, ctx: SimContext, webhooks: Map<string, SimWebhook>): void {
  const { world, interactionDeadlines: deadlines } = ctx;
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
  app.get('/users/@me/guilds', (req): RESTGetAPICurrentUserGuildsResult => {
    const a = actor(ctx, req);
    return [...world.guilds.values()]
      .filter((g) => g.members.has(a.userId))
      .map((g) => ({ id: g.guild.id, name: g.guild.name, icon: g.guild.icon, banner: g.guild.banner, owner: g.guild.owner_id === a.userId, permissions: permissionsString(ctx, g.guild.id, a.userId), features: g.guild.features }));
  });
  const application = (req: FastifyRequest): APIApplication => {
    actor(ctx, req);
    return {
      ...world.application, name: 'splashtail', description: '', icon: null, bot_public: true, bot_require_code_grant: false, verify_key: '0'.repeat(64),
      team: null, owner: world.users.values().next().value, bot: world.botUser, summary: '', flags_new: String(world.application.flags),
    };
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
    const type = Number(b.type ?? ApplicationCommandType.ChatInput);
    const description = type === ApplicationCommandType.ChatInput ? str(b.description, 'description', { min: 1, max: 100 })! : '';
    const options = b.options ?? [];
    if (!isOptionList(options)) throw invalidForm('options', 'Each option needs a type (1-11), a name (1-32) and a description (1-100).');
    return {
      id: existing?.id ?? world.ids.next(), application_id: world.application.id, version: world.ids.next(), type, name, description, options,
      default_member_permissions: typeof b.default_member_permissions === 'string' ? b.default_member_permissions : null,
      dm_permission: b.dm_permission !== false, nsfw: b.nsfw === true, ...(guildId ? { guild_id: guildId } : {}),
    };
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
  // The token authorises webhook calls once the interaction is acknowledged, for 15 minutes
  // (401 50027 after that, or when the 3 s deadline passed without a response).
  const interactionBy = (token: string): SimInteraction => {
    for (const i of world.interactions.values()) {
      if (i.token !== token) continue;
      const age = Date.now() - i.created_at;
      if (age > deadlines.tokenMs || (!i.callback && age > deadlines.responseMs)) throw invalidWebhookToken();
      if (!i.callback) throw unknown('Webhook');
      return i;
    }
    throw unknown('Webhook');
  };
  const botMessage = (i: SimInteraction, data: MessageBody, extra: Partial<APIMessage> = {}): APIMessage => {
    const interaction_metadata: APIMessageInteractionMetadata = {
      id: i.id, type: InteractionType.ApplicationCommand, user: world.users.get(i.user_id) ?? world.botUser,
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: i.guild_id },
    };
    return world.newMessage(i.channel_id, world.botUser, data.content ?? '', {
      embeds: data.embeds ?? [], flags: data.flags ?? 0, webhook_id: world.application.id, application_id: world.application.id, interaction_metadata, ...extra,
    });
  };

  app.post<{ Params: Params }>('/interactions/:id/:token/callback', { schema: { body: S.InteractionCallback, querystring: S.WithResponseQuery } }, (req, reply) => {
    const i = world.interactions.get(req.params.id);
    if (!i || i.token !== req.params.token) throw unknown('Interaction');
    if (i.callback) throw new DiscordError(400, 40060, 'Interaction has already been acknowledged.');
    // The first response must come within 3 s of INTERACTION_CREATE.
    if (Date.now() - i.created_at > deadlines.responseMs) throw unknown('Interaction');
    const b = body<Static<typeof S.InteractionCallback>>(req);
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
  // A channel webhook's own messages (Get/Edit/Delete Webhook Message): another webhook's or a
  // user's message in the channel is 10008 Unknown Message to it, as on Discord.
  const channelWebhookMessage = (params: MessageParams) => {
    const webhook = webhooks.get(params.app);
    if (!webhook) return undefined;
    if (webhook.token !== params.token) throw invalidWebhookToken();
    const g = guildOf(ctx, webhook.guild_id);
    const message = g.messages.get(webhook.channel_id)?.find((m) => m.id === params.message && m.webhook_id === webhook.id);
    if (!message) throw unknown('Message');
    return { g, webhook, message };
  };
  app.get<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', (req) => {
    const own = channelWebhookMessage(req.params);
    if (own) return own.message;
    const message = responseMessage(interactionBy(req.params.token), req.params.message);
    if (!message) throw unknown('Message');
    return message;
  });
  app.patch<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', { schema: { body: S.MessagePatch } }, (req) => {
    const own = channelWebhookMessage(req.params);
    if (own) {
      const b = body<MessageBody>(req);
      if (b.content !== undefined) own.message.content = b.content ?? '';
      if (b.embeds !== undefined) own.message.embeds = b.embeds ?? [];
      if (!own.message.content && own.message.embeds.length === 0 && own.message.attachments.length === 0) throw new DiscordError(400, 50006, 'Cannot send an empty message');
      own.message.edited_timestamp = new Date().toISOString();
      world.emitDispatch('MESSAGE_UPDATE', { ...own.message, guild_id: own.g.guild.id }, own.g.guild.id);
      return own.message;
    }
    const i = interactionBy(req.params.token);
    const g = guildOf(ctx, i.guild_id);
    const b = body<MessageBody>(req);
    if (req.params.message === '@original' && !i.original) i.original = world.postMessage(g, botMessage(i, b));
    const message = responseMessage(i, req.params.message);
    if (!message) throw unknown('Message');
    if (b.content !== undefined) message.content = b.content ?? '';
    if (b.embeds) message.embeds = b.embeds;
    message.edited_timestamp = new Date().toISOString();
    world.emitDispatch('MESSAGE_UPDATE', { ...message, guild_id: g.guild.id }, g.guild.id);
    return message;
  });
  app.delete<{ Params: MessageParams }>('/webhooks/:app/:token/messages/:message', (req, reply) => {
    const own = channelWebhookMessage(req.params);
    if (own) {
      const { g, webhook, message } = own;
      g.messages.set(webhook.channel_id, (g.messages.get(webhook.channel_id) ?? []).filter((m) => m !== message));
      world.emitDispatch('MESSAGE_DELETE', { id: message.id, channel_id: webhook.channel_id, guild_id: g.guild.id }, g.guild.id);
      return reply.status(204).send();
    }
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
    const b = body<Static<typeof S.WebhookExecute>>(req);
    const avatarUrl = b.avatar_url === undefined ? undefined : httpUrl(b.avatar_url, 'avatar_url');
    if (!b.content && !b.embeds?.length) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    const content = b.content ?? '';
    const webhook = webhooks.get(req.params.app);
    if (webhook) {
      if (webhook.token !== req.params.token) throw invalidWebhookToken();
      const g = guildOf(ctx, webhook.guild_id);
      const author = { id: webhook.id, username: b.username ?? webhook.name ?? 'webhook', avatar: avatarUrl ?? null, discriminator: '0000', global_name: null, bot: true };
      const message = world.postMessage(g, world.newMessage(webhook.channel_id, author, content, { embeds: b.embeds ?? [], webhook_id: webhook.id }));
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

/** Command options as Discord requires each one (type, name, description); sub-options alike. */
function isOptionList(value: unknown): value is APIApplicationCommandOption[] {
  return Array.isArray(value) && value.length <= 25 && value.every((o: unknown) => {
    if (typeof o !== 'object' || o === null) return false;
    const { type, name, description, options } = o as Record<string, unknown>;
    return Number.isInteger(type) && Number(type) >= 1 && Number(type) <= 11 && typeof name === 'string' && /^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$/u.test(name) &&
      typeof description === 'string' && description.length >= 1 && description.length <= 100 && (options === undefined || isOptionList(options));
  });
}

/** Discord accepts only well-formed http(s) URLs where it fetches an image (avatar_url). */
function httpUrl(value: unknown, field: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalidForm(field, 'Not a well formed URL.', 'URL_TYPE_INVALID_URL');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') throw invalidForm(field, `Scheme "${scheme}" is not supported. Scheme must be one of ('http', 'https').`, 'URL_TYPE_INVALID_SCHEME');
  return url.href;
}
