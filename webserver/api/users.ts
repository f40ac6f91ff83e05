// /api/v1/users/@me: who is logged in, their servers, their API tokens.
import { Type } from '@sinclair/typebox';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { isOperator } from '../identity';
import type { ApiDeps } from './deps';
import { ApiError, errorResponses } from './errors';

const tags = ['users'];
const TokenInfo = Type.Object({ id: Type.String(), name: Type.String(), created_at: Type.String(), last_used_at: Type.Union([Type.String(), Type.Null()]), revoked_at: Type.Union([Type.String(), Type.Null()]) });
const Guild = Type.Object({ id: Type.String(), name: Type.String(), icon: Type.Union([Type.String(), Type.Null()]), owner: Type.Boolean(), bot_in: Type.Boolean({ description: 'whether the bot is in this server' }) });
const manages = (g: { owner: boolean; permissions: string }) => g.owner || (BigInt(g.permissions) & (PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild)) !== 0n;

export function usersRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get('/users/@me', {
    schema: {
      summary: 'The calling user', tags,
      response: { 200: Type.Object({ id: Type.String(), username: Type.String(), global_name: Type.Union([Type.String(), Type.Null()]), avatar: Type.Union([Type.String(), Type.Null()]), operator: Type.Boolean({ description: 'may control the clusters (discord_auth.can_use_bot)' }), via: Type.Union([Type.Literal('session'), Type.Literal('token')]) }), ...errorResponses },
    },
  }, async (req) => {
    const c = req.caller!;
    return { id: c.user.id, username: c.user.username, global_name: c.user.global_name ?? null, avatar: c.user.avatar ?? null, operator: isOperator(d.config, c), via: c.via };
  });

  app.get('/users/@me/guilds', {
    schema: { summary: 'Your servers where you have Manage Server, each with whether the bot is in it (asked of Discord with your login)', tags, response: { 200: Type.Object({ guilds: Type.Array(Guild) }), ...errorResponses } },
  }, async (req) => {
    const token = await d.sessions.accessToken(req.caller!.user.id);
    const [guilds, bot] = await Promise.all([d.discord.userGuilds(token), d.discord.botGuildIds()]);
    return { guilds: guilds.filter(manages).map((g) => ({ id: g.id, name: g.name, icon: g.icon, owner: g.owner, bot_in: bot.has(g.id) })) };
  });

  app.get('/users/@me/tokens', { schema: { summary: 'Your API tokens (never the tokens themselves)', tags, response: { 200: Type.Object({ tokens: Type.Array(TokenInfo) }), ...errorResponses } } }, async (req) => ({ tokens: await d.tokens.list(req.caller!.user.id) }));

  app.post('/users/@me/tokens', {
    schema: {
      summary: 'Create an API token: send it as `Authorization: User <token>`; it is shown only in this answer', tags,
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, description: 'what the token is for' }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ token: Type.String(), info: TokenInfo }), ...errorResponses },
    },
  }, async (req, reply) => {
    const { name } = req.body as { name: string };
    return reply.status(201).send(await d.tokens.create(req.caller!.user, name));
  });

  app.delete('/users/@me/tokens/:token_id', {
    schema: { summary: 'Revoke one of your API tokens', tags, params: Type.Object({ token_id: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    const { token_id } = req.params as { token_id: string };
    if (!(await d.tokens.revoke(req.caller!.user.id, token_id))) throw new ApiError(404, 'unknown_token', 'no live token of yours with this id');
    return reply.status(204).send();
  });
}
