// Guild emoji routes: list, get, create (an image data URI), edit, delete. Each change sends
// GUILD_EMOJIS_UPDATE and an audit-log entry (internal/sim/guild-entities.ts).
import type { APIEmoji } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { createEmoji, deleteEmoji, updateEmoji } from '../guild-entities';
import { P } from '../permissions';
import type { SimGuild } from '../world';
import { actor, auditReason, body, DiscordError, guildOf, invalidForm, missingPermissions, need, type SimContext, str, unknown } from './context';

type Params = { guild: string; emoji: string };
const EMOJI_NAME = /^[A-Za-z0-9_]{2,32}$/;
const IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*$/;
const MAX_EMOJIS = 50;

export function emojiRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  const emojiOf = (g: SimGuild, id: string): APIEmoji => {
    const emoji = g.guild.emojis.find((e) => e.id === id);
    if (!emoji) throw new DiscordError(404, 10014, 'Unknown Emoji');
    return emoji;
  };
  const member = (g: SimGuild, userId: string) => {
    if (!g.members.has(userId)) throw unknown('Guild');
  };
  // Editing needs MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for one's own emoji.
  const needEdit = (g: SimGuild, userId: string, emoji: APIEmoji) => {
    try {
      need(g, userId, P.ManageGuildExpressions);
    } catch (err) {
      if (emoji.user?.id !== userId) throw err;
      need(g, userId, P.CreateGuildExpressions);
    }
  };
  const name = (value: unknown) => {
    const n = str(value, 'name', { min: 2, max: 32 })!;
    if (!EMOJI_NAME.test(n)) throw invalidForm('name', 'Must be 2-32 letters, digits or underscores.', 'STRING_TYPE_REGEX');
    return n;
  };
  const roles = (g: SimGuild, value: unknown) => {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((r) => typeof r === 'string' && g.roles.has(r))) throw invalidForm('roles', 'Must be an array of role ids of this guild.');
    return value as string[];
  };

  app.get<{ Params: Params }>('/guilds/:guild/emojis', (req) => {
    const g = guildOf(ctx, req.params.guild);
    member(g, actor(ctx, req).userId);
    return g.guild.emojis;
  });

  app.get<{ Params: Params }>('/guilds/:guild/emojis/:emoji', (req) => {
    const g = guildOf(ctx, req.params.guild);
    member(g, actor(ctx, req).userId);
    return emojiOf(g, req.params.emoji);
  });

  app.post<{ Params: Params }>('/guilds/:guild/emojis', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    need(g, a.userId, P.CreateGuildExpressions);
    const b = body(req);
    const n = name(b.name);
    const image = str(b.image, 'image', { min: 1, max: 350_000 })!;
    if (!IMAGE.test(image)) throw invalidForm('image', 'Must be a data:image/png|jpeg|gif|webp;base64 URI.', 'IMAGE_INVALID');
    const r = roles(g, b.roles);
    if (g.guild.emojis.length >= MAX_EMOJIS) throw new DiscordError(400, 30008, `Maximum number of emojis reached (${MAX_EMOJIS})`);
    return reply.status(201).send(createEmoji(world, g, a.userId, n, r));
  });

  app.patch<{ Params: Params }>('/guilds/:guild/emojis/:emoji', (req) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const emoji = emojiOf(g, req.params.emoji);
    needEdit(g, a.userId, emoji);
    const b = body(req);
    return updateEmoji(world, g, a.userId, emoji, { name: b.name === undefined ? undefined : name(b.name), roles: roles(g, b.roles) });
  });

  app.delete<{ Params: Params }>('/guilds/:guild/emojis/:emoji', (req, reply) => {
    const a = actor(ctx, req);
    const g = guildOf(ctx, req.params.guild);
    const emoji = emojiOf(g, req.params.emoji);
    if (emoji.managed) throw missingPermissions();
    needEdit(g, a.userId, emoji);
    deleteEmoji(world, g, a.userId, emoji, auditReason(req));
    return reply.status(204).send();
  });
}
