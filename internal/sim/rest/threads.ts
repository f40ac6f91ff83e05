// Thread routes: start a thread (without a message), join/leave/add/remove members, list
// members and a guild's active threads. Editing and deleting a thread go through PATCH/DELETE
// /channels/:id (rest/channels.ts hands threads to updateThreadRoute/deleteThreadRoute here).
import { type APIThreadChannel, ChannelType, ThreadAutoArchiveDuration } from 'discord-api-types/v10';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createThread, deleteThread, isThread, joinThread, leaveThread, type ThreadType, updateThread } from '../guild-entities';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, body, channelOf, DiscordError, guildOf, invalidForm, need, type SimContext, str, unknown } from './context';

type Params = { channel: string; user: string; guild: string };
const ARCHIVE_DURATIONS: number[] = [ThreadAutoArchiveDuration.OneHour, ThreadAutoArchiveDuration.OneDay, ThreadAutoArchiveDuration.ThreeDays, ThreadAutoArchiveDuration.OneWeek];

function threadOf(ctx: SimContext, channelId: string): { g: SimGuild; thread: APIThreadChannel } {
  const g = ctx.world.channelGuild(channelId);
  const thread = g?.channels.get(channelId);
  if (!g || !thread || !isThread(thread)) throw unknown('Channel');
  return { g, thread };
}

/** PATCH /channels/:thread: name, archived, locked. The owner may rename and archive. */
export function updateThreadRoute(ctx: SimContext, req: FastifyRequest, channelId: string): APIThreadChannel {
  const a = actor(ctx, req);
  const { g, thread } = threadOf(ctx, channelId);
  const b = body(req);
  if (b.locked !== undefined || thread.owner_id !== a.userId) need(g, a.userId, P.ManageThreads, thread.id);
  else need(g, a.userId, P.SendMessagesInThreads, thread.id);
  if (b.archived !== undefined && typeof b.archived !== 'boolean') throw invalidForm('archived', 'Must be a boolean.');
  if (b.locked !== undefined && typeof b.locked !== 'boolean') throw invalidForm('locked', 'Must be a boolean.');
  return updateThread(ctx.world, g, a.userId, thread, { name: str(b.name, 'name', { min: 1, max: 100, optional: true }), archived: b.archived as boolean | undefined, locked: b.locked as boolean | undefined });
}

/** DELETE /channels/:thread needs MANAGE_THREADS. */
export function deleteThreadRoute(ctx: SimContext, req: FastifyRequest, channelId: string): APIThreadChannel {
  const a = actor(ctx, req);
  const { g, thread } = threadOf(ctx, channelId);
  need(g, a.userId, P.ManageThreads, thread.id);
  deleteThread(ctx.world, g, a.userId, thread);
  return thread;
}

export function threadRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;

  app.post<{ Params: Params }>('/channels/:channel/threads', (req, reply) => {
    const a = actor(ctx, req);
    const { g, channel } = channelOf(ctx, req.params.channel);
    const b = body(req);
    const name = str(b.name, 'name', { min: 1, max: 100 })!;
    if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
    const type: ThreadType = channel.type === ChannelType.GuildAnnouncement ? ChannelType.AnnouncementThread : b.type === ChannelType.PublicThread || b.type === undefined ? ChannelType.PublicThread : ChannelType.PrivateThread;
    if (b.type !== undefined && b.type !== ChannelType.PublicThread && b.type !== ChannelType.PrivateThread && b.type !== ChannelType.AnnouncementThread) throw invalidForm('type', `Value "${String(b.type)}" is not a valid enum value.`, 'BASE_TYPE_CHOICES');
    const archive = b.auto_archive_duration === undefined ? ThreadAutoArchiveDuration.OneDay : Number(b.auto_archive_duration);
    if (!ARCHIVE_DURATIONS.includes(archive)) throw invalidForm('auto_archive_duration', 'Must be 60, 1440, 4320 or 10080.', 'BASE_TYPE_CHOICES');
    need(g, a.userId, type === ChannelType.PrivateThread ? P.CreatePrivateThreads : P.CreatePublicThreads, channel.id);
    return reply.status(201).send(createThread(world, g, a.userId, channel.id, name, type, archive));
  });

  app.get<{ Params: Params }>('/guilds/:guild/threads/active', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(a.userId)) throw unknown('Guild');
    const threads = [...g.channels.values()].filter(isThread).filter((t) => !t.thread_metadata?.archived);
    const members = threads.filter((t) => g.threadMembers.get(t.id)?.has(a.userId)).map((t) => ({ id: t.id, user_id: a.userId, join_timestamp: t.thread_metadata?.create_timestamp ?? '', flags: 1 }));
    return { threads, members };
  });

  app.get<{ Params: Params }>('/channels/:channel/thread-members', (req) => {
    const a = actor(ctx, req);
    const { g, thread } = threadOf(ctx, req.params.channel);
    need(g, a.userId, 0n, thread.id);
    return [...(g.threadMembers.get(thread.id) ?? [])].map((user_id) => ({ id: thread.id, user_id, join_timestamp: thread.thread_metadata?.create_timestamp ?? '', flags: 1 }));
  });

  // Joining needs the thread unarchived; adding someone else needs SEND_MESSAGES_IN_THREADS.
  const member = (req: FastifyRequest<{ Params: Params }>) => {
    const a = actor(ctx, req);
    const { g, thread } = threadOf(ctx, req.params.channel);
    const userId = req.params.user === '@me' ? a.userId : req.params.user;
    need(g, a.userId, userId === a.userId ? 0n : P.SendMessagesInThreads, thread.id);
    if (!g.members.has(userId)) throw unknown('Member');
    if (thread.thread_metadata?.archived) throw new DiscordError(400, 50083, 'Thread is archived');
    return { a, g, thread, userId };
  };

  app.put<{ Params: Params }>('/channels/:channel/thread-members/:user', (req, reply) => {
    const { g, thread, userId } = member(req);
    joinThread(world, g, thread, userId);
    return reply.status(204).send();
  });

  app.delete<{ Params: Params }>('/channels/:channel/thread-members/:user', (req, reply) => {
    const { a, g, thread, userId } = member(req);
    if (userId !== a.userId) need(g, a.userId, P.ManageThreads, thread.id);
    leaveThread(world, g, thread, userId);
    return reply.status(204).send();
  });
}
