// The webserver: health, metrics, the login, the API (/api/v1, OpenAPI at /docs), the website, and
// the older read-only cluster routes (/clusters, /clusters/actions, /clusters/{id}/modules,
// /status), still public as before: every control is in /api/v1, for operators only.
// Built here, listened on in server.ts; tests use inject() or the binary.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SettingsStore } from '../bot/modules/settings-store';
import type { Config } from '../internal/config';
import type { Pool } from '../internal/db/pool';
import { createHttpService } from '../internal/http/service';
import type { ActionLogEntry } from '../internal/ipc/action-log';
import type { ClusterStatus } from '../internal/ipc/clusterer';
import type { ApiDeps } from './api/deps';
import { apiV1 } from './api/index';
import { ApiTokens } from './api-tokens';
import { authRoutes } from './auth';
import type { ClusterAction } from './cluster-control';
import { within } from './dependency';
import { memberRestoreRoutes } from './member-restore';
import { discordClient } from './discord';
import { jobsClient } from './jobs-client';
import { type Limit } from './rate-limit';
import { sessionStore } from './sessions';
import { siteRoutes } from './site/routes';
import { statusPage } from './status-page';
import { MirrorRepository } from '../mirror/repository';

/** What the API needs from the clusterer (hosted here or in `splashtail bot`). */
export interface ClustersView {
  statuses(): ClusterStatus[];
  actions(limit: number): Promise<ActionLogEntry[]>;
  control(action: ClusterAction, args?: Record<string, unknown>): Promise<unknown>;
}

export interface ApiOptions {
  config: Config;
  logger: Logger;
  registry: Registry;
  clusters: ClustersView;
  redis: Redis;
  pool: Pool;
}

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { config, clusters, redis } = options;
  const base = createHttpService({
    logger: options.logger,
    registry: options.registry,
    bodyLimit: 1024 * 1024,
    trustProxy: config.webserver.trust_proxy,
    health: () => {
      const statuses = clusters.statuses();
      return { clusters: statuses.length, clusters_up: statuses.filter((c) => c.state === 'up').length };
    },
  });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(swagger, {
    openapi: {
      info: { title: 'splashtail API', version: '1', description: 'Errors are `{error, code}`; 429 carries `retry_after` and X-RateLimit-* headers as Discord does. Writes with the session cookie need `X-CSRF-Token` equal to the `csrf` cookie.' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'session' }, token: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'User <token> (POST /api/v1/users/@me/tokens)' } } },
      security: [{ session: [] }, { token: [] }],
    },
    // Only /api/v1 is documented: the site's pages and the older routes are not an API.
    transform: ({ schema, url }) => ({ schema: url.startsWith('/api/v1') ? schema : { ...schema, hide: true }, url }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const sessions = sessionStore(redis, config);
  const deps: ApiDeps = {
    config, redis, sessions, clusters,
    tokens: new ApiTokens(options.pool),
    discord: discordClient(config, redis),
    jobs: jobsClient(config),
    // Through the bots' Redis copy, so a change made here counts on every cluster's next read.
    settings: new SettingsStore(options.pool, { redis, prefix: config.clusterer.redis_channel, logger: options.logger }),
    mirror: new MirrorRepository(options.pool),
    limits: limitsOf(config),
  };
  authRoutes(app, { config, redis, sessions });
  memberRestoreRoutes(app, { config, redis, pool: options.pool });
  await apiV1(app, deps);
  publicClusterRoutes(app, config, clusters);
  siteRoutes(app);
  return app;
}

function publicClusterRoutes(app: FastifyInstance, config: Config, clusters: ClustersView): void {
  app.get('/clusters', async () => ({ clusters: clusters.statuses() }));

  app.get(
    '/clusters/actions',
    { schema: { querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }) }) } },
    async (req) => ({ actions: await within('Redis', clusters.actions((req.query as { limit: number }).limit)) }),
  );

  app.get(
    '/clusters/:id/modules',
    { schema: { params: Type.Object({ id: Type.Integer({ minimum: 0, maximum: 100_000 }) }) } },
    async (req, reply) => {
      const { id } = req.params as { id: number };
      const cluster = clusters.statuses().find((c) => c.id === id);
      if (!cluster) return reply.status(404).send({ error: `no cluster ${id}` });
      const url = `http://${config.meta.bot_iserver_host}:${config.meta.bot_iserver_base_port + cluster.id}/modules`;
      try {
        const res = await fetch(url, {
          headers: { authorization: `Bearer ${config.meta.bot_iserver_secret}` },
          signal: AbortSignal.timeout(5_000),
        });
        if (!res.ok) return reply.status(502).send({ error: `cluster ${cluster.id} IServer answered ${res.status}` });
        return { cluster_id: cluster.id, modules: (await res.json()) as unknown };
      } catch (err) {
        req.log.warn({ err: (err as Error).message, cluster_id: cluster.id }, 'IServer unreachable');
        return reply.status(503).send({ error: `cluster ${cluster.id} IServer unreachable (state ${cluster.state})` });
      }
    },
  );
  statusPage(app, () => clusters.statuses());
}

function limitsOf(config: Config): { ip: Limit; user: Limit } {
  const { ip, user } = config.webserver.rate_limits;
  return { ip: { limit: ip.requests, windowMs: ip.window_seconds * 1000 }, user: { limit: user.requests, windowMs: user.window_seconds * 1000 } };
}
