// /api/v1/clusters: the clusters and their control, for operators only (discord_auth.can_use_bot).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isOperator } from '../identity';
import type { ApiDeps } from './deps';
import { ApiError, errorResponses } from './errors';

const tags = ['clusters'];
const Any = Type.Unknown();

export function requireOperator(d: Pick<ApiDeps, 'config'>) {
  return async (req: { caller?: import('../identity').Caller }) => {
    if (!isOperator(d.config, req.caller!)) throw new ApiError(403, 'not_operator', 'only operators (discord_auth.can_use_bot) may see or control the clusters');
  };
}

export function clusterRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.addHook('preHandler', requireOperator(d));

  app.get('/clusters', { schema: { summary: 'Every cluster: state, pid, shards, guilds, users, per-shard diagnostics', tags, response: { 200: Type.Object({ clusters: Type.Array(Any) }), ...errorResponses } } }, async () => ({ clusters: d.clusters.statuses() }));

  app.get('/clusters/actions', {
    schema: { summary: "The clusterer's action log, newest first", tags, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }), response: { 200: Type.Object({ actions: Type.Array(Any) }), ...errorResponses } },
  }, async (req) => ({ actions: await d.clusters.actions((req.query as { limit: number }).limit) }));

  app.post('/clusters/:cluster_id/restart', {
    schema: { summary: 'Restart one cluster; answers once it is back (or the clusterer says why not)', tags, params: Type.Object({ cluster_id: Type.Integer({ minimum: 0, maximum: 100_000 }) }), response: { 200: Any, ...errorResponses } },
  }, async (req) => {
    const id = (req.params as { cluster_id: number }).cluster_id;
    if (!d.clusters.statuses().some((c) => c.id === id)) throw new ApiError(404, 'unknown_cluster', `no cluster ${id}`);
    return d.clusters.control('restart', { id });
  });

  app.post('/clusters/rolling-restart', { schema: { summary: 'Restart every cluster, one at a time (in the background)', tags, response: { 200: Any, ...errorResponses } } }, async () => d.clusters.control('rollingrestart'));

  app.post('/clusters/reshard', { schema: { summary: "Ask Discord for the shard count again; a larger one restarts every cluster with it", tags, response: { 200: Any, ...errorResponses } } }, async () => d.clusters.control('reshard'));
}
