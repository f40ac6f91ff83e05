// /api/v1/guilds/{id}/mirror/links: the server's channel mirror links (README: `splashtail mirror`),
// as source or target. Read-only: links are made and removed with /mirror in Discord, where both
// sides' permissions are checked. Never the link's webhook token.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './deps';
import { errorResponses } from './errors';
import { requireManageServer, Snowflake } from './guilds';

const Link = Type.Object({
  id: Type.Integer(),
  source_guild_id: Type.String(), source_channel_id: Type.String(),
  target_guild_id: Type.String(), target_channel_id: Type.String(),
  created_by: Type.String({ description: 'who completed the link' }),
});

export function mirrorRoutes(app: FastifyInstance, d: ApiDeps): void {
  requireManageServer(app, d);
  app.get('/guilds/:id/mirror/links', {
    schema: { summary: "The server's mirror links, where it is the source or the target", tags: ['mirror'], params: Type.Object({ id: Snowflake }), response: { 200: Type.Object({ links: Type.Array(Link) }), ...errorResponses } },
  }, async (req) => {
    const links = await d.mirror.linksOfGuild((req.params as { id: string }).id);
    return { links: links.map(({ id, source_guild_id, source_channel_id, target_guild_id, target_channel_id, created_by }) => ({ id, source_guild_id, source_channel_id, target_guild_id, target_channel_id, created_by })) };
  });
}
