// Channel routes: the channel, permission overwrites, messages, typing, webhooks.
import { randomBytes } from 'node:crypto';
import { type APIMessage, type APIOverwrite, type APIWebhook, AuditLogEvent, MessageReferenceType, MessageType, WebhookType } from 'discord-api-types/v10';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { P } from '../permissions';
import { isThreadType } from '../guild-entities';
import { deleteThreadRoute, updateThreadRoute } from './threads';
import { postDm, type SimDms } from './dms';
import { actor, auditReason, body, channelOf, deletedFields, DiscordError, invalidForm, need, needOverwriteGrant, type SimContext, str, unknown } from './context';
import * as S from './schemas';
import { overwrites } from './schemas';

type Params = { channel: string; id: string };
const EDITABLE = ['name', 'topic', 'position', 'parent_id', 'nsfw', 'rate_limit_per_user', 'bitrate', 'user_limit', 'permission_overwrites'];

/** An incoming webhook as Discord returns it to its creator (with its token and user). */
export type SimWebhook = APIWebhook & { token: string; guild_id: string; channel_id: string };

const overwritesOf = (channel: Record<string, unknown>): APIOverwrite[] => (Array.isArray(channel.permission_overwrites) ? channel.permission_overwrites : []);
/** The X-Audit-Log-Reason of a request, spread into an audit entry (absent when not sent). */
const reasonOf = (req: FastifyRequest) => {
  const reason = auditReason(req);
  return reason === undefined ? {} : { reason };
};
/** What Discord lists, as old values, in a channel's CHANNEL_DELETE entry. */
const CHANNEL_DELETE_KEYS = ['name', 'type', 'permission_overwrites', 'nsfw', 'rate_limit_per_user', 'flags'];
const parentOf = (channel: Record<string, unknown>): string | null => (typeof channel.parent_id === 'string' ? channel.parent_id : null);

export function channelRoutes(app: FastifyInstance, ctx: SimContext, webhooks: Map<string, SimWebhook>, dms: SimDms): void {
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
      const next = overwrites(b.permission_overwrites as Static<typeof S.Overwrite>[] | null);
      needOverwriteGrant(g, a.userId, next, overwritesOf(channel), channel.id, parentOf(channel));
      b.permission_overwrites = next;
    }
    const changes = [];
    for (const key of EDITABLE) {
      if (!(key in b)) continue;
      changes.push({ key, old_value: channel[key], new_value: b[key] });
      channel[key] = b[key];
    }
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    world.addAudit(g, { action_type: AuditLogEvent.ChannelUpdate, user_id: a.userId, target_id: channel.id, changes, ...reasonOf(req) });
    return channel;
  });

  app.delete<{ Params: Params }>('/channels/:channel', (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    if (isThreadType(channel.type)) return deleteThreadRoute(ctx, req, channel.id);
    need(g, a.userId, P.ManageChannels, channel.id);
    g.channels.delete(channel.id);
    g.messages.delete(channel.id);
    // A channel's webhooks go with it.
    for (const w of webhooks.values()) if (w.channel_id === channel.id) webhooks.delete(w.id);
    world.emitDispatch('CHANNEL_DELETE', channel, g.guild.id);
    world.addAudit(g, { action_type: AuditLogEvent.ChannelDelete, user_id: a.userId, target_id: channel.id, changes: deletedFields(channel, CHANNEL_DELETE_KEYS), ...reasonOf(req) });
    return channel;
  });

  app.put<{ Params: Params }>('/channels/:channel/permissions/:id', { schema: { body: S.OverwritePut } }, (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    if (isThreadType(channel.type)) throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
    need(g, a.userId, P.ManageRoles, channel.id);
    const b = body<Static<typeof S.OverwritePut>>(req);
    const current = overwritesOf(channel);
    const next = overwrites([{ ...b, id: req.params.id }]);
    needOverwriteGrant(g, a.userId, next, current, channel.id, parentOf(channel));
    const existed = current.some((o) => o.id === req.params.id);
    channel.permission_overwrites = [...current.filter((o) => o.id !== req.params.id), ...next];
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    const action = existed ? AuditLogEvent.ChannelOverwriteUpdate : AuditLogEvent.ChannelOverwriteCreate;
    world.addAudit(g, { action_type: action, user_id: a.userId, target_id: channel.id, changes: [{ key: 'allow', new_value: next[0]?.allow }, { key: 'deny', new_value: next[0]?.deny }], ...reasonOf(req) });
    return reply.status(204).send();
  });

  app.delete<{ Params: Params }>('/channels/:channel/permissions/:id', (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    if (isThreadType(channel.type)) throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
    need(g, a.userId, P.ManageRoles, channel.id);
    const removed = overwritesOf(channel).find((o) => o.id === req.params.id);
    channel.permission_overwrites = overwritesOf(channel).filter((o) => o.id !== req.params.id);
    world.emitDispatch('CHANNEL_UPDATE', channel, g.guild.id);
    if (removed) world.addAudit(g, { action_type: AuditLogEvent.ChannelOverwriteDelete, user_id: a.userId, target_id: channel.id, changes: [{ key: 'allow', old_value: removed.allow }, { key: 'deny', old_value: removed.deny }], ...reasonOf(req) });
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
    if (dms.get(req.params.channel)) {
      const b = body<Static<typeof S.MessageCreate>>(req);
      if (!b.content) throw new DiscordError(400, 50006, 'Cannot send an empty message');
      return postDm(ctx, dms, a.userId, req.params.channel, b.content);
    }
    const { g, channel } = channelOf(ctx, req.params.channel);
    need(g, a.userId, P.SendMessages, channel.id);
    const b = body<Static<typeof S.MessageCreate>>(req);
    if (!b.content && !b.embeds?.length) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    const content = b.content ?? '';
    const reference = b.message_reference;
    // A reply carries the message it answers (Discord's referenced_message); an unknown one is refused.
    const replied = reference?.message_id ? g.messages.get(channel.id)?.find((m) => m.id === reference.message_id) : undefined;
    if (reference?.message_id && !replied) throw invalidForm('message_reference', 'Unknown message', 'REPLIES_UNKNOWN_MESSAGE');
    return world.postMessage(g, world.newMessage(channel.id, world.users.get(a.userId)!, content, {
      embeds: b.embeds ?? [],
      ...(replied ? { message_reference: { type: MessageReferenceType.Default, message_id: replied.id, channel_id: channel.id, guild_id: g.guild.id }, type: MessageType.Reply, referenced_message: replied } : {}),
    }));
  });

  app.patch<{ Params: Params }>('/channels/:channel/messages/:id', { schema: { body: S.MessagePatch } }, (req) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    const message = g.messages.get(channel.id)?.find((m) => m.id === req.params.id);
    if (!message) throw unknown('Message');
    if (message.author.id !== a.userId) throw new DiscordError(403, 50005, 'Cannot edit a message authored by another user');
    const b = body<Static<typeof S.MessagePatch>>(req);
    if (b.content !== undefined) message.content = b.content ?? '';
    if (b.embeds) message.embeds = b.embeds;
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
    const webhook: SimWebhook = {
      id: world.ids.next(), type: WebhookType.Incoming, token: randomBytes(24).toString('base64url'), channel_id: channel.id, guild_id: g.guild.id, name,
      avatar: null, application_id: a.kind === 'bot' ? world.application.id : null, user: world.users.get(a.userId),
    };
    webhooks.set(webhook.id, webhook);
    world.emitDispatch('WEBHOOKS_UPDATE', { guild_id: g.guild.id, channel_id: channel.id }, g.guild.id);
    world.addAudit(g, { action_type: AuditLogEvent.WebhookCreate, user_id: a.userId, target_id: webhook.id, changes: [{ key: 'name', new_value: name }, { key: 'channel_id', new_value: channel.id }], ...reasonOf(req) });
    return webhook;
  });

  // Delete Webhook (Manage Webhooks in its channel) and Delete Webhook with Token (the token authorises).
  const deleteWebhook = (webhook: SimWebhook, userId: string | undefined, req: FastifyRequest) => {
    webhooks.delete(webhook.id);
    const g = world.guild(webhook.guild_id);
    if (!g) return;
    world.emitDispatch('WEBHOOKS_UPDATE', { guild_id: g.guild.id, channel_id: webhook.channel_id }, g.guild.id);
    if (userId) world.addAudit(g, { action_type: AuditLogEvent.WebhookDelete, user_id: userId, target_id: webhook.id, changes: [{ key: 'name', old_value: webhook.name }], ...reasonOf(req) });
  };
  app.delete<{ Params: { id: string } }>('/webhooks/:id', (req, reply) => {
    const a = actor(ctx, req);
    const webhook = webhooks.get(req.params.id);
    if (!webhook) throw unknown('Webhook');
    const { g } = channelOf(ctx, webhook.channel_id);
    need(g, a.userId, P.ManageWebhooks, webhook.channel_id);
    deleteWebhook(webhook, a.userId, req);
    return reply.status(204).send();
  });
  app.delete<{ Params: { id: string; token: string } }>('/webhooks/:id/:token', (req, reply) => {
    const webhook = webhooks.get(req.params.id);
    if (!webhook) throw unknown('Webhook');
    if (webhook.token !== req.params.token) throw new DiscordError(401, 50027, 'Invalid Webhook Token');
    deleteWebhook(webhook, undefined, req);
    return reply.status(204).send();
  });
}
