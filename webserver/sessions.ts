// Login sessions and the OAuth2 grants behind them, in Redis. A session is `{user, csrf}` under a
// random id (the HttpOnly `session` cookie); the user's OAuth2 tokens are kept per user, sealed
// (token-box.ts), refreshed when they are about to expire, so /users/@me/guilds can be asked of
// Discord for a session or an API token alike.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';
import { ApiError } from './api/errors';
import { within } from './dependency';
import { tokenBox } from './token-box';

export const SESSION_TTL_S = 7 * 86_400;
const GRANT_TTL_S = 30 * 86_400;
/** Session ids and CSRF tokens are 24 random bytes in base64url; anything else is not one. */
export const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;

export interface SessionUser {
  id: string;
  username: string;
  global_name: string | null;
  avatar: string | null;
}

export interface Session {
  user: SessionUser;
  csrf: string;
}

interface Grant {
  access_token: string;
  refresh_token?: string;
  /** Unix ms. */
  expires_at: number;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
}

export function sessionStore(redis: Redis, config: Config) {
  const key = (kind: string, id: string) => `splashtail:web:${kind}:${id}`;
  const box = tokenBox(config.discord_auth.client_secret);
  const api = config.discord_auth.api_url.replace(/\/$/, '');
  const grantOf = (t: TokenResponse): Grant => ({ access_token: t.access_token, refresh_token: t.refresh_token, expires_at: Date.now() + (t.expires_in ?? 604_800) * 1000 });
  const saveGrant = (userId: string, grant: Grant) => within('Redis', redis.set(key('grant', userId), box.seal(JSON.stringify(grant)), 'EX', GRANT_TTL_S));

  return {
    async create(user: SessionUser, token: TokenResponse): Promise<{ id: string; csrf: string }> {
      const id = randomBytes(24).toString('base64url');
      const csrf = randomBytes(24).toString('base64url');
      await saveGrant(user.id, grantOf(token));
      await within('Redis', redis.set(key('session', id), JSON.stringify({ user, csrf } satisfies Session), 'EX', SESSION_TTL_S));
      return { id, csrf };
    },

    async get(id: string | undefined): Promise<Session | undefined> {
      if (!id || !SESSION_ID.test(id)) return undefined;
      const raw = await within('Redis', redis.get(key('session', id)));
      return raw ? (JSON.parse(raw) as Session) : undefined;
    },

    async destroy(id: string | undefined): Promise<void> {
      if (id && SESSION_ID.test(id)) await within('Redis', redis.del(key('session', id)));
    },

    /** A live access token of the user's last login, refreshed when it expires within a minute. */
    async accessToken(userId: string): Promise<string> {
      const sealed = await within('Redis', redis.get(key('grant', userId)));
      const opened = sealed ? box.open(sealed) : undefined;
      const relogin = new ApiError(401, 'login_required', 'Discord access expired: log in again at /auth/login');
      if (!opened) throw relogin;
      const grant = JSON.parse(opened) as Grant;
      if (grant.expires_at - Date.now() > 60_000) return grant.access_token;
      if (!grant.refresh_token) throw relogin;
      const res = await fetch(`${api}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: config.discord_auth.client_id, client_secret: config.discord_auth.client_secret, grant_type: 'refresh_token', refresh_token: grant.refresh_token }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw relogin;
      const next = grantOf((await res.json()) as TokenResponse);
      await saveGrant(userId, next);
      return next.access_token;
    },
  };
}

export type SessionStore = ReturnType<typeof sessionStore>;
