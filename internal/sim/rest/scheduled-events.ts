// Guild scheduled event routes: list (with_user_count), get, create, edit (name, description,
// status), delete, users. Each change sends GUILD_SCHEDULED_EVENT_* and an audit-log entry.
import { type APIGuildScheduledEvent, ChannelType, GuildScheduledEventEntityType, GuildScheduledEventStatus } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { createScheduledEvent, deleteScheduledEvent, updateScheduledEvent } from '../guild-entities';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, body, DiscordError, guildOf, invalidForm, need, type SimContext, str, unknown } from './context';

type Params = { guild: string; event: string };
type Query = { with_user_count?: string };
/** Allowed status moves: scheduled -> active or canceled, active -> completed. */
const NEXT: Record<number, number[]> = {
  [GuildScheduledEventStatus.Scheduled]: [GuildScheduledEventStatus.Active, GuildScheduledEventStatus.Canceled],
  [GuildScheduledEventStatus.Active]: [GuildScheduledEventStatus.Completed],
};

export function scheduledEventRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const eventOf = (g: SimGuild, id: string): APIGuildScheduledEvent => {
    const event = g.scheduledEvents.get(id);
    if (!event) throw new DiscordError(404, 10070, 'Unknown Guild Scheduled Event');
    return event;
  };
  const withCount = (g: SimGuild, e: APIGuildScheduledEvent, query: Query) =>
    query.with_user_count === 'true' ? { ...e, user_count: g.scheduledEventUsers.get(e.id)?.size ?? 0 } : e;
  // Managing an event needs MANAGE_EVENTS, or CREATE_EVENTS for one's own.
  const needEdit = (g: SimGuild, userId: string, event: APIGuildScheduledEvent) => {
    try {
      need(g, userId, P.ManageEvents);
    } catch (err) {
      if (event.creator_id !== userId) throw err;
      need(g, userId, P.CreateEvents);
    }
  };
  const time = (value: unknown, field: string, optional = false) => {
    const s = str(value, field, { min: 1, max: 40, optional });
    if (s !== undefined && Number.isNaN(Date.parse(s))) throw invalidForm(field, 'Must be an ISO8601 timestamp.', 'DATE_TIME_TYPE_PARSE');
    return s;
  };

  app.get<{ Params: Params; Querystring: Query }>('/guilds/:guild/scheduled-events', (req) => {
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(actor(ctx, req).userId)) throw unknown('Guild');
    return [...g.scheduledEvents.values()].map((e) => withCount(g, e, req.query));
  });

  app.get<{ Params: Params; Querystring: Query }>('/guilds/:guild/scheduled-events/:event', (req) => {
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(actor(ctx, req).userId)) throw unknown('Guild');
    return withCount(g, eventOf(g, req.params.event), req.query);
  });

  app.post<{ Params: Params }>('/guilds/:guild/scheduled-events', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.CreateEvents);
    const b = body(req);
    const name = str(b.name, 'name', { min: 1, max: 100 })!;
    if (b.privacy_level !== 2) throw invalidForm('privacy_level', 'Must be 2 (GUILD_ONLY).', 'BASE_TYPE_CHOICES');
    const start = time(b.scheduled_start_time, 'scheduled_start_time')!;
    const end = time(b.scheduled_end_time, 'scheduled_end_time', true) ?? null;
    const description = str(b.description, 'description', { max: 1000, optional: true });
    if (b.entity_type === GuildScheduledEventEntityType.External) {
      const location = str((b.entity_metadata as { location?: unknown } | undefined)?.location, 'entity_metadata.location', { min: 1, max: 100 });
      if (!end) throw invalidForm('scheduled_end_time', 'Required for external events.', 'BASE_TYPE_REQUIRED');
      return reply.status(201).send(createScheduledEvent(world, g, a.userId, { name, start, end, channelId: null, location, description }));
    }
    if (b.entity_type !== GuildScheduledEventEntityType.Voice && b.entity_type !== GuildScheduledEventEntityType.StageInstance) throw invalidForm('entity_type', 'Must be 1, 2 or 3.', 'BASE_TYPE_CHOICES');
    const channel = g.channels.get(String(b.channel_id ?? ''));
    const wanted = b.entity_type === GuildScheduledEventEntityType.Voice ? ChannelType.GuildVoice : ChannelType.GuildStageVoice;
    if (!channel || channel.type !== wanted) throw invalidForm('channel_id', 'Must be a voice or stage channel matching entity_type.');
    return reply.status(201).send(createScheduledEvent(world, g, a.userId, { name, start, end, channelId: channel.id, description }));
  });

  app.patch<{ Params: Params }>('/guilds/:guild/scheduled-events/:event', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const event = eventOf(g, req.params.event);
    needEdit(g, a.userId, event);
    const b = body(req);
    let status: GuildScheduledEventStatus | undefined;
    if (b.status !== undefined) {
      const next = Number(b.status);
      if (!NEXT[event.status]?.includes(next)) throw invalidForm('status', `Cannot move an event from status ${event.status} to ${String(b.status)}.`, 'GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION');
      status = next === GuildScheduledEventStatus.Active ? GuildScheduledEventStatus.Active : next === GuildScheduledEventStatus.Completed ? GuildScheduledEventStatus.Completed : GuildScheduledEventStatus.Canceled;
    }
    return updateScheduledEvent(world, g, a.userId, event, {
      name: str(b.name, 'name', { min: 1, max: 100, optional: true }),
      description: b.description === null ? null : str(b.description, 'description', { max: 1000, optional: true }),
      status,
    });
  });

  app.delete<{ Params: Params }>('/guilds/:guild/scheduled-events/:event', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const event = eventOf(g, req.params.event);
    needEdit(g, a.userId, event);
    deleteScheduledEvent(world, g, a.userId, event);
    return reply.status(204).send();
  });

  app.get<{ Params: Params }>('/guilds/:guild/scheduled-events/:event/users', (req) => {
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(actor(ctx, req).userId)) throw unknown('Guild');
    const event = eventOf(g, req.params.event);
    return [...(g.scheduledEventUsers.get(event.id) ?? [])].map((id) => ({ guild_scheduled_event_id: event.id, user: world.users.get(id) }));
  });
}
