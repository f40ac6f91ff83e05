// The fastify base every service starts from: pino logging, /healthz and /metrics, strict
// body validation and timeouts that close a connection whose request never finishes.
import { AjvCompiler } from '@fastify/ajv-compiler';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchemaValidationError, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export type HealthCheck = () => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface ServiceOptions {
  logger: Logger;
  registry: Registry;
  /** Throws (or rejects) when the service is unhealthy; its result is included in the answer. */
  health?: HealthCheck;
  bodyLimit?: number;
  /** fastify's trustProxy: whose X-Forwarded-For gives `req.ip` (default: nobody's). */
  trustProxy?: boolean | string[];
}

/** Bounds on a client's connection: a request must arrive whole, an idle socket is closed. */
export const HTTP_TIMEOUTS = {
  /** Headers and body of one request must arrive within this (slow or half-sent bodies are cut). */
  requestMs: 30_000,
  headersMs: 20_000,
  /** A socket with no traffic at all (a handler that hangs, a silent client). */
  idleMs: 120_000,
  keepAliveMs: 10_000,
  /** How often node checks the two request timeouts (its default, 30 s, would double them). */
  checkMs: 1_000,
} as const;

type Validate = ((data: unknown, ...rest: unknown[]) => boolean) & { errors?: FastifySchemaValidationError[] | null; schemaEnv?: unknown };
type Compile = (route: { schema: unknown; httpPart?: string }) => Validate;

/**
 * Bodies are validated as sent: no type coercion ("123" is not ["123"]) and undeclared
 * properties of a closed schema are refused, not silently dropped. Query strings and
 * params keep fastify's coercion (they arrive as text), minus the numbers ajv lets through
 * unchecked: "-Infinity" and "1e400" pass `minimum`/`maximum` as text, then become infinite.
 */
function buildValidator(external: Record<string, unknown>, options: { customOptions?: Record<string, unknown> }) {
  const pool = AjvCompiler();
  const lenient = pool(external as never, options as never) as unknown as Compile;
  const strict = pool(external as never, { ...options, customOptions: { ...options.customOptions, coerceTypes: false, removeAdditional: false } }) as unknown as Compile;
  return (route: { schema: unknown; httpPart?: string }) => onFirstUse(() => (route.httpPart === 'body' ? strict(route) : finiteOnly(lenient(route))));
}

/**
 * Compiled on the route's first request, not at start: ajv generating the code of every route's
 * schemas was most of the sim's start time (4 of its 6 s on a loaded machine) and left about
 * 30 MiB of grown heap behind in a service that then idles.
 */
function onFirstUse(compile: () => Validate): Validate {
  let validate: Validate | undefined;
  const check: Validate = (data, ...rest) => {
    validate ??= compile();
    const ok = validate(data, ...rest);
    check.errors = validate.errors;
    return ok;
  };
  // fastify gives the parent object (for ajv to coerce a root value in place) to validators with a
  // schemaEnv, which every ajv validator has.
  check.schemaEnv = true;
  return check;
}

function finiteOnly(validate: Validate): Validate {
  const check: Validate = (data, ...rest) => {
    const ok = validate(data, ...rest);
    check.errors = validate.errors;
    if (!ok || typeof data !== 'object' || data === null) return ok;
    for (const [key, value] of Object.entries(data)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        check.errors = [{ keyword: 'type', instancePath: `/${key}`, schemaPath: '#/type', params: {}, message: 'must be a finite number' }];
        return false;
      }
    }
    return true;
  };
  check.schemaEnv = validate.schemaEnv;
  return check;
}

/** One line naming the field and what is wrong with it: `body.guilds must be array`. */
export function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): string {
  const e = errors[0];
  if (!e) return `${dataVar} is invalid`;
  const path = [dataVar, ...e.instancePath.split('/').filter(Boolean)].join('.');
  if (e.keyword === 'additionalProperties') return `${path}.${String(e.params.additionalProperty)} is not a known property`;
  if (e.keyword === 'required') return `${path}.${String(e.params.missingProperty)} is required`;
  return `${path} ${e.message ?? 'is invalid'}`;
}

/** A dependency (Redis, Postgres) is down: 503 with this message, which names it. */
export class Unavailable extends Error {
  readonly statusCode = 503;
}

export function createHttpService({ logger, registry, health, bodyLimit, trustProxy = false }: ServiceOptions): FastifyInstance {
  const app = Fastify({
    trustProxy,
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout: HTTP_TIMEOUTS.requestMs,
    connectionTimeout: HTTP_TIMEOUTS.idleMs,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
    http: { headersTimeout: HTTP_TIMEOUTS.headersMs, connectionsCheckingInterval: HTTP_TIMEOUTS.checkMs },
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } },
    schemaErrorFormatter: (errors, dataVar) => new Error(describeValidation(errors, dataVar)),
  });

  // Clients get a 4xx naming the problem, never a stack trace.
  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (err instanceof Unavailable) req.log.warn({ err: err.message, cause: (err.cause as Error | undefined)?.message }, 'dependency unavailable');
    else if (status >= 500) req.log.error({ err }, 'request failed');
    reply.status(status).send({ error: status < 500 || err instanceof Unavailable ? err.message : 'internal error' });
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
