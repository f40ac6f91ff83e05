// The REST entry point on the proxy port: /gateway and /gateway/bot answer with the proxy's
// own URL, so a library needs only its REST base URL pointed here; every other /api request
// goes upstream unchanged (status, headers and body kept). Only Discord's methods are forwarded,
// and only into the upstream's API tree: the path is normalised first (`/api/../_sim` and its
// encoded forms resolve outside /api and are refused).
import type { FastifyInstance } from 'fastify';

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'accept-encoding']);
const FORWARDED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const DROP_FROM_RESPONSE = new Set(['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive']);

/** The part of `url` below /api (with its query), after resolving dot segments; undefined outside /api. */
export function apiSubpath(url: string): string | undefined {
  let resolved: URL;
  try {
    resolved = new URL(url, 'http://proxy.invalid');
  } catch {
    return undefined;
  }
  if (resolved.host !== 'proxy.invalid' || !resolved.pathname.startsWith('/api/')) return undefined;
  return resolved.pathname.slice('/api'.length) + resolved.search;
}

export function restForward(app: FastifyInstance, options: { upstreamApi: string; gatewayUrl: string; shardCount: () => number }): void {
  const upstream = options.upstreamApi.replace(/\/$/, '');
  app.register(async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 25 << 20 }, (_req, body, done) => done(null, body));
    const gateway = () => ({ url: options.gatewayUrl });
    const gatewayBot = () => {
      const shards = options.shardCount();
      // Downstream IDENTIFYs are not limited by Discord: one bucket per shard lets libraries connect at once.
      return { url: options.gatewayUrl, shards, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: Math.max(1, shards) } };
    };
    for (const version of ['', '/v9', '/v10']) {
      api.get(`/api${version}/gateway`, gateway);
      api.get(`/api${version}/gateway/bot`, gatewayBot);
    }
    api.all('/api/*', async (req, reply) => {
      if (!FORWARDED_METHODS.has(req.method)) {
        return reply.status(405).header('allow', [...FORWARDED_METHODS].join(', ')).send({ message: `405: Method ${req.method} Not Allowed`, code: 0 });
      }
      const subpath = apiSubpath(req.url);
      if (subpath === undefined) return reply.status(404).send({ message: '404: Not Found', code: 0 });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') headers[k] = v;
      let res: Response;
      try {
        res = await fetch(`${upstream}${subpath}`, {
          method: req.method,
          headers,
          body: req.method === 'GET' ? undefined : (req.body as Buffer | undefined),
          redirect: 'manual',
          signal: AbortSignal.timeout(60_000),
        });
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'upstream REST unreachable');
        return reply.status(502).send({ message: 'upstream REST unreachable', code: 0 });
      }
      res.headers.forEach((value, key) => {
        if (!DROP_FROM_RESPONSE.has(key)) reply.header(key, value);
      });
      return reply.status(res.status).send(Buffer.from(await res.arrayBuffer()));
    });
  });
}
