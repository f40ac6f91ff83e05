// The fastify base every service starts from: pino logging, /healthz and /metrics.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export type HealthCheck = () => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface ServiceOptions {
  logger: Logger;
  registry: Registry;
  /** Throws (or rejects) when the service is unhealthy; its result is included in the answer. */
  health?: HealthCheck;
  bodyLimit?: number;
  /** Refuse (400) body properties a schema does not declare, instead of fastify's silent removal. */
  rejectUnknownProperties?: boolean;
}

export function createHttpService({ logger, registry, health, bodyLimit, rejectUnknownProperties }: ServiceOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    ...(rejectUnknownProperties ? { ajv: { customOptions: { removeAdditional: false } } } : {}),
  });

  // Clients get a 4xx naming the problem, never a stack trace.
  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      return { status: 'ok', ...(await health?.()) };
    } catch (err) {
      return reply.status(503).send({ status: 'unhealthy', error: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return app;
}
