// Direct messages: POST /users/@me/channels opens (or returns) the DM channel with a user, and
// messages posted to it are kept here. As on Discord, a bot can only DM a user it shares a
// guild with (50007 otherwise). Tests read a user's DMs at /_sim/users/:u/dms.
import { type APIDMChannel, type APIMessage, ChannelType } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import type { SimWorld } from '../world';
import { actor, body, DiscordError, type SimContext, str, unknown } from './context';

export class SimDms {
  /** DM channel id -> its channel (recipients: the other user, as Discord returns it), both users, messages. */
  private readonly channels = new Map<string, { channel: APIDMChannel; users: [string, string]; messages: APIMessage[] }>();

  open(world: SimWorld, fromId: string, toId: string): APIDMChannel {
    for (const dm of this.channels.values()) if (dm.users.includes(fromId) && dm.users.includes(toId)) return dm.channel;
    const channel: APIDMChannel = { id: world.ids.next(), type: ChannelType.DM, last_message_id: null, recipients: [world.users.get(toId)!], name: null };
    this.channels.set(channel.id, { channel, users: [fromId, toId], messages: [] });
    return channel;
  }

  get(id: string) {
    return this.channels.get(id);
  }

  /** Messages sent to `userId` in DMs, oldest first. */
  to(userId: string): APIMessage[] {
    return [...this.channels.values()].filter((d) => d.users.includes(userId)).flatMap((d) => d.messages.filter((m) => m.author.id !== userId));
  }
}

export function dmRoutes(app: FastifyInstance, ctx: SimContext, dms: SimDms): void {
  const { world } = ctx;
  app.post('/users/@me/channels', (req) => {
    const a = actor(ctx, req);
    const recipientId = str(body(req).recipient_id, 'recipient_id', { min: 1, max: 20 })!;
    if (!world.users.has(recipientId)) throw unknown('User');
    const shared = [...world.guilds.values()].some((g) => g.members.has(recipientId) && g.members.has(a.userId));
    if (a.kind === 'bot' && !shared) throw new DiscordError(403, 50007, 'Cannot send messages to this user');
    return dms.open(world, a.userId, recipientId);
  });
}

export function dmControlRoutes(control: FastifyInstance, dms: SimDms): void {
  control.get<{ Params: { u: string } }>('/_sim/users/:u/dms', (req) => dms.to(req.params.u));
}

/** POST /channels/:id/messages for a DM channel: the message, or undefined when `id` is no DM. */
export function postDm(ctx: SimContext, dms: SimDms, userId: string, channelId: string, content: string): APIMessage | undefined {
  const dm = dms.get(channelId);
  if (!dm) return undefined;
  const other = dm.users.find((id) => id !== userId);
  if (!other || !dm.users.includes(userId) || ![...ctx.world.guilds.values()].some((g) => g.members.has(other) && g.members.has(userId))) {
    throw new DiscordError(403, 50007, 'Cannot send messages to this user');
  }
  const message = ctx.world.newMessage(channelId, ctx.world.users.get(userId)!, content);
  dm.messages.push(message);
  dm.channel.last_message_id = message.id;
  return message;
}
