// The IServer: a cluster's own HTTP interface for the API (and operators), on
// bot_iserver_host:(bot_iserver_base_port + cluster id). Everything except /healthz and /metrics
// needs `Authorization: Bearer <meta.bot_iserver_secret>`.
import type { Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createHttpService } from '../../internal/http/service';
import type { ModuleMetadata } from '../modules/types';
import { bearerMatches } from './auth';
import { ErrorResponse, GuildParams, GuildSummary, GuildsExistBody, GuildsExistResponse, InfoResponse, ModulesResponse } from './schemas';

export type ClusterInfo = Static<typeof InfoResponse>;
export type GuildSummaryData = Static<typeof GuildSummary>;

/** What the IServer asks of its cluster; the discord.js side implements it, tests fake it. */
export interface IServerSource {
  info(): ClusterInfo;
  hasGuild(id: string): boolean;
  guild(id: string): GuildSummaryData | undefined;
  modules(): ModuleMetadata[];
}

const OPEN_ROUTES = new Set(['/healthz', '/metrics']);

export function buildIServer(options: { logger: Logger; registry: Registry; secret: string; source: IServerSource }): FastifyInstance {
  const { source, secret } = options;
  const base = createHttpService({
    logger: options.logger,
    registry: options.registry,
    bodyLimit: 256 * 1024,
    health: () => {
      const info = source.info();
      return { cluster_id: info.cluster_id, ready: info.ready };
    },
  });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (req, reply) => {
    if (OPEN_ROUTES.has(req.url.split('?')[0]!)) return;
    if (!bearerMatches(req.headers.authorization, secret)) {
      return reply.status(401).send({ error: 'missing or wrong Authorization: Bearer <meta.bot_iserver_secret>' });
    }
  });

  app.get('/info', { schema: { response: { 200: InfoResponse } } }, async () => source.info());

  app.post(
    '/guilds-exist',
    { schema: { body: GuildsExistBody, response: { 200: GuildsExistResponse } } },
    async (req) => {
      const flags = req.body.guilds.map((id) => (source.hasGuild(id) ? 1 : 0));
      return { guilds: flags, existing: req.body.guilds.filter((_, i) => flags[i] === 1) };
    },
  );

  app.get(
    '/guilds/:id',
    { schema: { params: GuildParams, response: { 200: GuildSummary, 404: ErrorResponse } } },
    async (req, reply) => {
      const guild = source.guild(req.params.id);
      if (!guild) return reply.status(404).send({ error: `guild ${req.params.id} is not on this cluster` });
      return guild;
    },
  );

  app.get('/modules', { schema: { response: { 200: ModulesResponse } } }, async () => source.modules());

  return app;
}
