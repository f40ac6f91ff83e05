// Who is calling: the login session (cookie `session`) or an API token (`Authorization: User
// <token>`). A session's writes must carry `X-CSRF-Token` equal to the `csrf` cookie and to the
// session's own token (double submit: a cross-site form can send the cookie, not the header).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../internal/config';
import { ApiError } from './api/errors';
import type { ApiTokens } from './api-tokens';
import type { SessionStore, SessionUser } from './sessions';

export interface Caller {
  user: Pick<SessionUser, 'id' | 'username'> & Partial<SessionUser>;
  via: 'session' | 'token';
  token_id?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The raw value of a cookie; never decoded (our values are base64url), so no bad escape can throw. */
export function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function identify({ sessions, tokens }: { sessions: SessionStore; tokens: ApiTokens }) {
  return async (req: FastifyRequest): Promise<Caller> => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const m = /^User (\S+)$/.exec(authorization);
      const user = m ? await tokens.verify(m[1]!) : undefined;
      if (!user) throw new ApiError(401, 'invalid_token', 'Authorization must be "User <token>" with a live API token');
      return { user: { id: user.id, username: user.username }, via: 'token', token_id: user.token_id };
    }
    const session = await sessions.get(cookie(req, 'session'));
    if (!session) throw new ApiError(401, 'unauthorized', 'not logged in: log in at /auth/login or send Authorization: User <token>');
    if (!SAFE.has(req.method)) {
      const header = req.headers['x-csrf-token'];
      const fromCookie = cookie(req, 'csrf');
      if (typeof header !== 'string' || !fromCookie || !same(header, fromCookie) || !same(header, session.csrf)) {
        throw new ApiError(403, 'csrf', 'a write with the session cookie needs the X-CSRF-Token header equal to the csrf cookie');
      }
    }
    return { user: session.user, via: 'session' };
  };
}

export const isOperator = (config: Config, caller: Caller) => config.discord_auth.can_use_bot.includes(caller.user.id);
