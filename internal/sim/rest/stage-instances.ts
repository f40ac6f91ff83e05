// Stage instance routes: open, get, edit (topic), close a stage. Each change sends
// STAGE_INSTANCE_* and an audit-log entry. A stage moderator (MANAGE_CHANNELS, MUTE_MEMBERS
// and MOVE_MEMBERS in the channel) may do it.
import { type APIStageInstance, ChannelType } from 'discord-api-types/v10';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createStageInstance, deleteStageInstance, updateStageInstance } from '../guild-entities';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, body, channelOf, DiscordError, need, type SimContext, str } from './context';

type Params = { channel: string };
const STAGE_MODERATOR = P.ManageChannels | P.MuteMembers | P.MoveMembers;

export function stageInstanceRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const stageOf = (channelId: string): { g: SimGuild; stage: APIStageInstance } => {
    const { g } = channelOf(ctx, channelId);
    const stage = g.stageInstances.get(channelId);
    if (!stage) throw new DiscordError(404, 10067, 'Unknown Stage Instance');
    return { g, stage };
  };
  const moderator = (req: FastifyRequest, g: SimGuild, channelId: string) => {
    const a = actor(ctx, req);
    need(g, a.userId, STAGE_MODERATOR, channelId);
    return a.userId;
  };

  app.post('/stage-instances', (req, reply) => {
    const b = body(req);
    const channelId = str(b.channel_id, 'channel_id', { min: 1, max: 20 })!;
    const { g, channel } = channelOf(ctx, channelId);
    const userId = moderator(req, g, channelId);
    if (channel.type !== ChannelType.GuildStageVoice) throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
    const topic = str(b.topic, 'topic', { min: 1, max: 120 })!;
    if (g.stageInstances.has(channelId)) throw new DiscordError(400, 150006, 'Stage already open');
    const eventId = str(b.guild_scheduled_event_id, 'guild_scheduled_event_id', { min: 1, max: 20, optional: true });
    if (eventId !== undefined && !g.scheduledEvents.has(eventId)) throw new DiscordError(404, 10070, 'Unknown Guild Scheduled Event');
    return reply.status(200).send(createStageInstance(world, g, userId, channelId, topic, eventId));
  });

  app.get<{ Params: Params }>('/stage-instances/:channel', (req) => {
    const { g, stage } = stageOf(req.params.channel);
    need(g, actor(ctx, req).userId, 0n, stage.channel_id);
    return stage;
  });

  app.patch<{ Params: Params }>('/stage-instances/:channel', (req) => {
    const { g, stage } = stageOf(req.params.channel);
    const userId = moderator(req, g, stage.channel_id);
    return updateStageInstance(world, g, userId, stage, str(body(req).topic, 'topic', { min: 1, max: 120 })!);
  });

  app.delete<{ Params: Params }>('/stage-instances/:channel', (req, reply) => {
    const { g, stage } = stageOf(req.params.channel);
    deleteStageInstance(world, g, moderator(req, g, stage.channel_id), stage);
    return reply.status(204).send();
  });
}
