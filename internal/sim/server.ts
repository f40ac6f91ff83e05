// `splashtail sim`: REST (/api, /api/v9, /api/v10), the gateway on the same port, and /_sim.
import { readFileSync } from 'node:fs';
import type { RESTGetAPIGatewayBotResult, RESTGetAPIGatewayResult } from 'discord-api-types/v10';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createHttpService } from '../http/service';
import { createRegistry } from '../metrics';
import { controlRoutes } from './control';
import { generateWorld } from './generate';
import { generateRealisticWorld } from './world-realistic';
import { SimGateway } from './gateway';
import { startLoadGenerator } from './load-generator';
import { applicationRoutes } from './rest/application';
import { channelRoutes, type SimWebhook } from './rest/channels';
import { dmControlRoutes, dmRoutes, SimDms } from './rest/dms';
import { actor, DiscordError, DISCORD_INTERACTION_DEADLINES, type InteractionDeadlines, type SimContext, sendError } from './rest/context';
import { guildRoutes } from './rest/guilds';
import { emojiRoutes } from './rest/emojis';
import { memberPutRoutes } from './rest/members-put';
import { oauth2ControlRoutes, oauth2Routes } from './rest/oauth2';
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
  /** IDENTIFYs allowed per 24 h (default 1000). */
  sessionStartLimit?: number;
  seed: number;
  /** 'realistic': guild sizes and contents like a large bot's (world-realistic.ts). */
  profile?: 'small' | 'realistic';
  worldFile?: string;
  rate?: number;
  rateLimits?: RateLimitOptions;
  allowedPrivilegedIntents?: number;
  /** Discord's by default (3 s, 15 min); tests may shorten them. */
  interactionDeadlines?: Partial<InteractionDeadlines>;
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
    : (options.profile === 'realistic' ? generateRealisticWorld : generateWorld)({ seed: options.seed, guilds: options.guilds, token: options.token });
  const registry = createRegistry('sim');
  const app = createHttpService({ logger: options.logger, registry, bodyLimit: 8 << 20 });
  let url = `http://${options.host}:${options.port}`;
  const wsUrl = () => url.replace(/^http/, 'ws');
  const gateway = new SimGateway({
    world, shards: options.shards, maxConcurrency: options.maxConcurrency, identifyIntervalMs: options.identifyIntervalMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs, sessionStartLimit: options.sessionStartLimit ? { total: options.sessionStartLimit } : undefined, publicUrl: wsUrl, allowedPrivilegedIntents: options.allowedPrivilegedIntents, logger: options.logger,
  });
  const ctx: SimContext = { world, bearerTokens: new Map(), oauthCodes: new Map(), accessTokens: new Map(), refreshTokens: new Map(), interactionDeadlines: { ...DISCORD_INTERACTION_DEADLINES, ...options.interactionDeadlines } };
  const webhooks = new Map<string, SimWebhook>();
  const dms = new SimDms();
  const limiter = new RestRateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS);

  // Discord accepts an empty body with a JSON content type (a DELETE from a generic client).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    if (jsonDepth(body as string) > MAX_JSON_DEPTH) return done(new DiscordError(400, 50035, 'Invalid Form Body', { _errors: [{ code: 'BASE_TYPE_INVALID', message: `Nested deeper than ${MAX_JSON_DEPTH} levels.` }] }), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new DiscordError(400, 50109, 'The request body contains invalid JSON.'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // Discord answers JSON as `application/json` exactly; some clients accept nothing else.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.header('content-type', 'application/json');
    return payload;
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
    api.get('/gateway', (): RESTGetAPIGatewayResult => ({ url: wsUrl() }));
    api.get('/gateway/bot', (req): RESTGetAPIGatewayBotResult => {
      actor(ctx, req);
      return { url: wsUrl(), shards: options.shards, session_start_limit: gateway.sessionStartLimit() };
    });
    guildRoutes(api, ctx);
    channelRoutes(api, ctx, webhooks, dms);
    dmRoutes(api, ctx, dms);
    applicationRoutes(api, ctx, webhooks);
    oauth2Routes(api, ctx);
    for (const routes of [emojiRoutes, stickerRoutes, threadRoutes, scheduledEventRoutes, stageInstanceRoutes, memberPutRoutes]) routes(api, ctx);
  };
  for (const prefix of ['/api/v10', '/api/v9', '/api']) await app.register(rest, { prefix });
  await app.register(async (control) => {
    control.setErrorHandler((err: FastifyError | DiscordError, _req, reply) =>
      err instanceof DiscordError ? sendError(reply, err) : reply.status((err as FastifyError).statusCode ?? 500).send({ message: err.message, code: 0 }),
    );
    controlRoutes(control, ctx, gateway, options.shards);
    dmControlRoutes(control, dms);
    oauth2ControlRoutes(control, ctx);
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
