// Guild sticker routes: list, get, edit, delete (GUILD_STICKERS_UPDATE and an audit-log entry
// each). Discord creates stickers from a multipart upload, which the sim does not parse: the
// control API's POST /_sim/guilds/:g/stickers creates them instead.
import type { APISticker } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { deleteSticker, updateSticker } from '../guild-entities';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, body, DiscordError, guildOf, need, type SimContext, str, unknown } from './context';

type Params = { guild: string; sticker: string };

export function stickerRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const stickerOf = (g: SimGuild, id: string): APISticker => {
    const sticker = g.guild.stickers?.find((s) => s.id === id);
    if (!sticker) throw new DiscordError(404, 10060, 'Unknown Sticker');
    return sticker;
  };
  const needEdit = (g: SimGuild, userId: string, sticker: APISticker) => {
    try {
      need(g, userId, P.ManageGuildExpressions);
    } catch (err) {
      if (sticker.user?.id !== userId) throw err;
      need(g, userId, P.CreateGuildExpressions);
    }
  };

  app.get<{ Params: Params }>('/guilds/:guild/stickers', (req) => {
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(actor(ctx, req).userId)) throw unknown('Guild');
    return g.guild.stickers ?? [];
  });

  app.get<{ Params: Params }>('/guilds/:guild/stickers/:sticker', (req) => {
    const g = guildOf(ctx, req.params.guild);
    if (!g.members.has(actor(ctx, req).userId)) throw unknown('Guild');
    return stickerOf(g, req.params.sticker);
  });

  app.patch<{ Params: Params }>('/guilds/:guild/stickers/:sticker', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const sticker = stickerOf(g, req.params.sticker);
    needEdit(g, a.userId, sticker);
    const b = body(req);
    return updateSticker(world, g, a.userId, sticker, {
      name: str(b.name, 'name', { min: 2, max: 30, optional: true }),
      tags: str(b.tags, 'tags', { min: 2, max: 200, optional: true }),
      description: b.description === null ? null : str(b.description, 'description', { min: 2, max: 100, optional: true }),
    });
  });

  app.delete<{ Params: Params }>('/guilds/:guild/stickers/:sticker', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const sticker = stickerOf(g, req.params.sticker);
    needEdit(g, a.userId, sticker);
    deleteSticker(world, g, a.userId, sticker);
    return reply.status(204).send();
  });
}
