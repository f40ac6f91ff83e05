// Channel routes: the channel, permission overwrites, messages, typing, webhooks.
import { randomBytes } from 'node:crypto';
import type { APIMessage } from 'discord-api-types/v10';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { P } from '../permissions';
import { isThreadType } from '../guild-entities';
import { deleteThreadRoute, updateThreadRoute } from './threads';
import { actor, body, channelOf, DiscordError, need, type SimContext, str, unknown } from './context';
import * as S from './schemas';
import { overwrites } from './schemas';

type Params = { channel: string; id: string };
const EDITABLE = ['name', 'topic', 'position', 'parent_id', 'nsfw', 'rate_limit_per_user', 'bitrate', 'user_limit', 'permission_overwrites'];

export interface SimWebhook {
  id: string;
  token: string;
  channel_id: string;
  guild_id: string;
  name: string;
  avatar: string | null;
  type: 1;
}

export function channelRoutes(app: FastifyInstance, ctx: SimContext, webhooks: Map<string, SimWebhook>): void {
  const { world } = ctx;

  app.get<{ Params: Params }>('/channels/:channel', (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, 0n, channel.id);
    return channel;
  });

  app.patch<{ Params: Params }>('/channels/:channel', { schema: { body: S.ChannelPatch } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    if (isThreadType(channel.type)) return updateThreadRoute(ctx, req, channel.id);
    need(g, a.userId, P.ManageChannels, channel.id);
    const b = body<Record<string, unknown>>(req);
    if (b.permission_overwrites !== undefined) {
      need(g, a.userId, P.ManageRoles, channel.id);
      b.permission_overwrites = overwrites(b.permission_overwrites as Static<typeof S.Overwrite>[] | null);
    }
    const changes = [];
    for (const key of EDITABLE) {
      if (!(key in b)) continue;
      changes.push({ key, old_value: channel[key], new_value: b[key] });
      channel[key] = b[key];
    }
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    world.addAudit(g, { action_type: 11, user_id: a.userId, target_id: channel.id, changes } as never);
    return channel;
  });

  app.delete<{ Params: Params }>('/channels/:channel', (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    if (isThreadType(channel.type)) return deleteThreadRoute(ctx, req, channel.id);
    need(g, a.userId, P.ManageChannels, channel.id);
    g.channels.delete(channel.id);
    g.messages.delete(channel.id);
    world.emitDispatch('CHANNEL_DELETE', channel, g.guild.id);
    world.addAudit(g, { action_type: 12, user_id: a.userId, target_id: channel.id, changes: [{ key: 'name', old_value: channel.name }] } as never);
    return channel;
  });

  app.put<{ Params: Params }>('/channels/:channel/permissions/:id', { schema: { body: S.OverwritePut } }, (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ManageRoles, channel.id);
    const b = body<Static<typeof S.OverwritePut>>(req);
    const list = (channel.permission_overwrites as { id: string }[]).filter((o) => o.id !== req.params.id);
    list.push(...overwrites([{ ...b, id: req.params.id }]));
    channel.permission_overwrites = list;
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    return reply.status(204).send();
  });

  app.delete<{ Params: Params }>('/channels/:channel/permissions/:id', (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ManageRoles, channel.id);
    channel.permission_overwrites = (channel.permission_overwrites as { id: string }[]).filter((o) => o.id !== req.params.id);
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    return reply.status(204).send();
  });

  app.get<{ Params: Params; Querystring: Static<typeof S.MessagesQuery> }>('/channels/:channel/messages', { schema: { querystring: S.MessagesQuery } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ReadMessageHistory, channel.id);
    const limit = req.query.limit ?? 50;
    const all = g.messages.get(channel.id) ?? [];
    const id = (m: APIMessage) => BigInt(m.id);
    let result: APIMessage[];
    if (req.query.around) {
      const at = BigInt(req.query.around);
      const before = all.filter((m) => id(m) < at).slice(-Math.floor(limit / 2));
      const after = all.filter((m) => id(m) >= at).slice(0, limit - before.length);
      result = [...before, ...after];
    } else if (req.query.after) {
      const after = BigInt(req.query.after);
      result = all.filter((m) => id(m) > after).slice(0, limit);
    } else {
      const before = req.query.before ? BigInt(req.query.before) : null;
      result = all.filter((m) => before === null || id(m) < before).slice(-limit);
    }
    return result.reverse(); // newest first, like Discord
  });

  app.get<{ Params: Params }>('/channels/:channel/messages/:id', (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ReadMessageHistory, channel.id);
    const message = g.messages.get(channel.id)?.find((m) => m.id === req.params.id);
    if (!message) throw unknown('Message');
    return message;
  });

  app.post<{ Params: Params }>('/channels/:channel/messages', { schema: { body: S.MessageCreate } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.SendMessages, channel.id);
    const b = body(req);
    if (!b.content && !(Array.isArray(b.embeds) && b.embeds.length)) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    const content = str(b.content ?? '', 'content', { max: 2000 })!;
    const reference = b.message_reference as { message_id?: string } | undefined;
    return world.postMessage(g, world.newMessage(channel.id, world.users.get(a.userId)!, content, {
      embeds: (b.embeds as never) ?? [],
      ...(reference?.message_id ? { message_reference: { message_id: reference.message_id, channel_id: channel.id, guild_id: g.guild.id }, type: 19 } : {}),
    }));
  });

  app.patch<{ Params: Params }>('/channels/:channel/messages/:id', { schema: { body: S.MessagePatch } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    const message = g.messages.get(channel.id)?.find((m) => m.id === req.params.id);
    if (!message) throw unknown('Message');
    if (message.author.id !== a.userId) throw new DiscordError(403, 50005, 'Cannot edit a message authored by another user');
    const b = body(req);
    if (b.content !== undefined) message.content = (b.content as string | null) ?? '';
    if (Array.isArray(b.embeds)) message.embeds = b.embeds as never;
    message.edited_timestamp = new Date().toISOString();
    world.emitDispatch('MESSAGE_UPDATE', { ...message, guild_id: g.guild.id }, g.guild.id);
    return message;
  });

  app.delete<{ Params: Params }>('/channels/:channel/messages/:id', (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    const list = g.messages.get(channel.id) ?? [];
    const index = list.findIndex((m) => m.id === req.params.id);
    if (index < 0) throw unknown('Message');
    if (list[index]!.author.id !== a.userId) need(g, a.userId, P.ManageMessages, channel.id);
    list.splice(index, 1);
    world.emitDispatch('MESSAGE_DELETE', { id: req.params.id, channel_id: channel.id, guild_id: g.guild.id }, g.guild.id);
    return reply.status(204).send();
  });

  app.post<{ Params: Params }>('/channels/:channel/messages/bulk-delete', { schema: { body: S.BulkDelete } }, (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ManageMessages, channel.id);
    const set = new Set(body<Static<typeof S.BulkDelete>>(req).messages);
    g.messages.set(channel.id, (g.messages.get(channel.id) ?? []).filter((m) => !set.has(m.id)));
    world.emitDispatch('MESSAGE_DELETE_BULK', { ids: [...set], channel_id: channel.id, guild_id: g.guild.id }, g.guild.id);
    return reply.status(204).send();
  });

  app.post<{ Params: Params }>('/channels/:channel/typing', (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.SendMessages, channel.id);
    world.emitDispatch('TYPING_START', { channel_id: channel.id, guild_id: g.guild.id, user_id: a.userId, timestamp: Math.floor(Date.now() / 1000) }, g.guild.id);
    return reply.status(204).send();
  });

  app.get<{ Params: Params }>('/channels/:channel/webhooks', (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ManageWebhooks, channel.id);
    return [...webhooks.values()].filter((w) => w.channel_id === channel.id);
  });

  app.post<{ Params: Params }>('/channels/:channel/webhooks', { schema: { body: S.WebhookCreate } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.ManageWebhooks, channel.id);
    const name = str(body(req).name, 'name', { min: 1, max: 80 })!;
    const webhook: SimWebhook = { id: world.ids.next(), token: randomBytes(24).toString('base64url'), channel_id: channel.id, guild_id: g.guild.id, name, avatar: null, type: 1 };
    webhooks.set(webhook.id, webhook);
    world.emitDispatch('WEBHOOKS_UPDATE', { guild_id: g.guild.id, channel_id: channel.id }, g.guild.id);
    return { ...webhook, user: world.botUser };
  });
}
