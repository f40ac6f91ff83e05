// `splashtail sim`: REST (/api, /api/v9, /api/v10), the gateway on the same port, and /_sim.
import { readFileSync } from 'node:fs';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createHttpService } from '../http/service';
import { createRegistry } from '../metrics';
import { controlRoutes } from './control';
import { generateWorld } from './generate';
import { SimGateway } from './gateway';
import { startLoadGenerator } from './load-generator';
import { applicationRoutes } from './rest/application';
import { channelRoutes, type SimWebhook } from './rest/channels';
import { actor, DiscordError, type SimContext, sendError } from './rest/context';
import { guildRoutes } from './rest/guilds';
import { emojiRoutes } from './rest/emojis';
import { oauth2Routes } from './rest/oauth2';
import { scheduledEventRoutes } from './rest/scheduled-events';
import { stageInstanceRoutes } from './rest/stage-instances';
import { stickerRoutes } from './rest/stickers';
import { threadRoutes } from './rest/threads';
import { jsonDepth, MAX_JSON_DEPTH, validationError } from './rest/schemas';
import { DEFAULT_RATE_LIMITS, type RateLimitOptions, RestRateLimiter } from './rest/ratelimit';
import { loadWorld } from './world-file';
import type { SimWorld } from './world';

export interface SimOptions {
  host: string;
  port: number;
  token?: string;
  guilds: number;
  shards: number;
  maxConcurrency: number;
  identifyIntervalMs: number;
  heartbeatIntervalMs?: number;
  seed: number;
  worldFile?: string;
  rate?: number;
  rateLimits?: RateLimitOptions;
  allowedPrivilegedIntents?: number;
  logger: Logger;
}

export interface SimServer {
  url: string;
  app: FastifyInstance;
  world: SimWorld;
  gateway: SimGateway;
  close(): Promise<void>;
}

export async function createSimServer(options: SimOptions): Promise<SimServer> {
  const world = options.worldFile
    ? loadWorld(JSON.parse(readFileSync(options.worldFile, 'utf8')), options.token)
    : generateWorld({ seed: options.seed, guilds: options.guilds, token: options.token });
  const registry = createRegistry('sim');
  const app = createHttpService({ logger: options.logger, registry, bodyLimit: 8 << 20 });
  let url = `http://${options.host}:${options.port}`;
  const wsUrl = () => url.replace(/^http/, 'ws');
  const gateway = new SimGateway({
    world, shards: options.shards, maxConcurrency: options.maxConcurrency, identifyIntervalMs: options.identifyIntervalMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs, publicUrl: wsUrl, allowedPrivilegedIntents: options.allowedPrivilegedIntents, logger: options.logger,
  });
  const ctx: SimContext = { world, bearerTokens: new Map(), oauthCodes: new Map(), refreshTokens: new Map() };
  const webhooks = new Map<string, SimWebhook>();
  const limiter = new RestRateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS);

  // Discord accepts an empty body with a JSON content type (a DELETE from a generic client).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    if (jsonDepth(body as string) > MAX_JSON_DEPTH) return done(new DiscordError(400, 50035, 'Invalid Form Body', { _errors: [{ code: 'BASE_TYPE_INVALID', message: `Nested deeper than ${MAX_JSON_DEPTH} levels.` }] }), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('The request body contains invalid JSON.'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const rest = async (api: FastifyInstance) => {
    api.setErrorHandler((err: FastifyError | DiscordError, req, reply) => {
      if (err instanceof DiscordError) return sendError(reply, err);
      if (err.validation) return sendError(reply, validationError(err.validation, err.validationContext === 'querystring' ? req.query : err.validationContext === 'params' ? req.params : req.body));
      const status = (err as FastifyError).statusCode ?? 500;
      if (status < 500) return sendError(reply, new DiscordError(400, 50035, `Invalid Form Body: ${err.message}`));
      options.logger.error({ err }, 'sim route failed');
      return sendError(reply, new DiscordError(500, 0, '500: Internal Server Error'));
    });
    api.setNotFoundHandler((_req, reply) => sendError(reply, new DiscordError(404, 0, '404: Not Found')));
    api.addHook('onRequest', async (req, reply) => {
      if (!limiter.check(req, reply)) return reply;
    });
    api.get('/gateway', () => ({ url: wsUrl() }));
    api.get('/gateway/bot', (req) => {
      actor(ctx, req);
      return { url: wsUrl(), shards: options.shards, session_start_limit: gateway.sessionStartLimit() };
    });
    guildRoutes(api, ctx);
    channelRoutes(api, ctx, webhooks);
    applicationRoutes(api, ctx, webhooks);
    oauth2Routes(api, ctx);
    for (const routes of [emojiRoutes, stickerRoutes, threadRoutes, scheduledEventRoutes, stageInstanceRoutes]) routes(api, ctx);
  };
  for (const prefix of ['/api/v10', '/api/v9', '/api']) await app.register(rest, { prefix });
  await app.register(async (control) => {
    control.setErrorHandler((err: FastifyError | DiscordError, _req, reply) =>
      err instanceof DiscordError ? sendError(reply, err) : reply.status((err as FastifyError).statusCode ?? 500).send({ message: err.message, code: 0 }),
    );
    controlRoutes(control, ctx, gateway, options.shards);
  });

  world.cdn.routes(app);
  gateway.attach(app.server);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  if (address && typeof address === 'object') url = `http://${options.host}:${address.port}`;
  world.cdn.base = url;
  const stopLoad = options.rate ? startLoadGenerator(world, options.rate) : () => {};

  return {
    url, app, world, gateway,
    async close() {
      stopLoad();
      await gateway.close();
      await app.close();
    },
  };
}
