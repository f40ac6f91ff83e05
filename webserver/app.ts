// The API (first part): health, metrics, cluster statuses, modules through a cluster's IServer,
// and the clusterer's action log. Built here, listened on in server.ts; tests use inject().
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../internal/config';
import { createHttpService } from '../internal/http/service';
import type { ActionLogEntry } from '../internal/ipc/action-log';
import type { ClusterStatus } from '../internal/ipc/clusterer';
import type { Redis } from 'ioredis';
import { authRoutes } from './auth';
import { within } from './dependency';
import { statusPage } from './status-page';

/** What the API needs from the clusterer it hosts. */
export interface ClustersView {
  statuses(): ClusterStatus[];
  actions(limit: number): Promise<ActionLogEntry[]>;
}

export function buildApi(options: { config: Config; logger: Logger; registry: Registry; clusters: ClustersView; redis: Redis }): FastifyInstance {
  const { config, clusters } = options;
  const base = createHttpService({
    logger: options.logger,
    registry: options.registry,
    bodyLimit: 1024 * 1024,
    health: () => {
      const statuses = clusters.statuses();
      return { clusters: statuses.length, clusters_up: statuses.filter((c) => c.state === 'up').length };
    },
  });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/clusters', async () => ({ clusters: clusters.statuses() }));

  app.get(
    '/clusters/actions',
    { schema: { querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }) }) } },
    async (req) => ({ actions: await within('Redis', clusters.actions(req.query.limit)) }),
  );

  app.get(
    '/clusters/:id/modules',
    { schema: { params: Type.Object({ id: Type.Integer({ minimum: 0, maximum: 100_000 }) }) } },
    async (req, reply) => {
      const cluster = clusters.statuses().find((c) => c.id === req.params.id);
      if (!cluster) return reply.status(404).send({ error: `no cluster ${req.params.id}` });
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
  authRoutes(app, { config, redis: options.redis });
  statusPage(app, () => clusters.statuses());
  return app;
}
