// /api/v1: every route authenticated (session or API token), rate limited per IP and per user,
// errors `{error, code}`. Schemas on each route are the one source of validation and of /docs.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { identify } from '../identity';
import { applyVerdict, rateLimiter } from '../rate-limit';
import { clusterRoutes } from './clusters';
import type { ApiDeps } from './deps';
import { apiErrors } from './errors';
import { guildRoutes } from './guilds';
import { mirrorRoutes } from './mirror';
import { usersRoutes } from './users';

/** Route groups, each in a scope of its own (its hooks apply to it only); a new group is one line here. */
const ROUTE_GROUPS: ((app: FastifyInstance, d: ApiDeps) => void)[] = [usersRoutes, guildRoutes, mirrorRoutes, clusterRoutes];

/** Authentication and rate limits of every /api/v1 route. */
function guard(d: ApiDeps) {
  const who = identify(d);
  // Per deployment (its IPC channel names it), so two deployments on one Redis count apart.
  const limit = rateLimiter(d.redis, `${d.config.clusterer.redis_channel}:web:`);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    // Per IP first, so guessing tokens is limited too.
    const byIp = await limit('ip', req.ip, d.limits.ip);
    if (applyVerdict(reply, byIp)) return reply;
    req.caller = await who(req);
    const byUser = await limit('user', req.caller.user.id, d.limits.user);
    if (applyVerdict(reply, byUser)) return reply;
    return undefined;
  };
}

export async function apiV1(app: FastifyInstance, d: ApiDeps): Promise<void> {
  await app.register(async (scope) => {
    apiErrors(scope);
    scope.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'not_found' }));
    scope.addHook('onRequest', guard(d));
    for (const routes of ROUTE_GROUPS) await scope.register(async (group) => routes(group, d));
  }, { prefix: '/api/v1' });
}
