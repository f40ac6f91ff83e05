// Errors of /api/v1: `{error, code}`, the code stable for programs, the message for people.
import type { FastifyError, FastifyInstance } from 'fastify';
import { Unavailable } from '../../internal/http/service';

export class ApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

export const ErrorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' } },
  required: ['error', 'code'],
} as const;

const RateLimited = {
  type: 'object',
  properties: { ...ErrorBody.properties, retry_after: { type: 'number', description: 'seconds until the window resets' }, global: { type: 'boolean' } },
  required: ['error', 'code', 'retry_after', 'global'],
} as const;

/** The error responses every route may give, for the OpenAPI document (and the serialiser). */
export const errorResponses = { ...Object.fromEntries([400, 401, 403, 404, 502, 503].map((s) => [s, ErrorBody])), 429: RateLimited };

const CODES: Record<number, string> = { 400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 408: 'timeout', 413: 'body_too_large', 415: 'unsupported_media_type', 429: 'rate_limited' };

export function apiErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError | ApiError | Unavailable, req, reply) => {
    if (err instanceof ApiError) return reply.status(err.statusCode).send({ error: err.message, code: err.code });
    if (err instanceof Unavailable) {
      req.log.warn({ err: err.message }, 'dependency unavailable');
      return reply.status(503).send({ error: err.message, code: 'unavailable' });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: 'internal error', code: 'internal' });
    }
    return reply.status(status).send({ error: err.message, code: CODES[status] ?? 'invalid_request' });
  });
}
