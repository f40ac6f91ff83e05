// Discord OAuth2 login for the website: /auth/login -> Discord's authorize page -> /auth/callback
// (code exchanged for tokens, the user read from users/@me) -> a session (sessions.ts) as the
// HttpOnly `session` cookie, with a readable `csrf` cookie for the page's writes. The OAuth2 state
// is signed, not stored: an unauthenticated /auth/login writes nothing, and only a completed
// login marks its state used (so it is accepted once).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';
import { within } from './dependency';
import { cookie } from './identity';
import { SESSION_TTL_S, type SessionStore, type SessionUser, type TokenResponse } from './sessions';

const STATE_TTL_S = 600;

/** `<nonce>.<expiry>.<hmac>`, checked in constant time. */
export function oauthState(key: string) {
  const mac = (payload: string) => createHmac('sha256', key).update(`oauth2-state:${payload}`).digest('base64url');
  return {
    issue(now = Date.now()): string {
      const payload = `${randomBytes(12).toString('base64url')}.${Math.floor(now / 1000) + STATE_TTL_S}`;
      return `${payload}.${mac(payload)}`;
    },
    valid(state: string, now = Date.now()): boolean {
      const m = /^([A-Za-z0-9_-]{16}\.(\d{1,12}))\.([A-Za-z0-9_-]{43})$/.exec(state);
      if (!m || Number(m[2]) * 1000 < now) return false;
      const a = Buffer.from(m[3]!);
      const b = Buffer.from(mac(m[1]!));
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

/** Cookie attributes: Secure when the site is served over https. */
export function cookieAttributes(config: Config, maxAge: number, httpOnly = true): string {
  const secure = config.sites.frontend.startsWith('https:') || config.sites.api.startsWith('https:');
  return `${httpOnly ? 'HttpOnly; ' : ''}SameSite=Lax; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

export function authRoutes(app: FastifyInstance, { config, redis, sessions }: { config: Config; redis: Redis; sessions: SessionStore }): void {
  const api = config.discord_auth.api_url.replace(/\/$/, '');
  const redirectUri = config.discord_auth.allowed_redirects[0] ?? `${config.sites.api}/auth/callback`;
  const key = (kind: string, id: string) => `splashtail:web:${kind}:${id}`;
  const states = oauthState(config.discord_auth.client_secret);

  app.get('/auth/login', async (_req, reply) => {
    const params = new URLSearchParams({ client_id: config.discord_auth.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'identify guilds', state: states.issue() });
    return reply.redirect(`${api}/oauth2/authorize?${params}`);
  });

  app.get<{ Querystring: { code?: unknown; state?: unknown } }>('/auth/callback', async (req, reply) => {
    const { code, state } = req.query;
    if (typeof code !== 'string' || typeof state !== 'string' || !code || !state) return reply.status(400).send({ error: 'code and state are required (once each)' });
    if (!states.valid(state)) return reply.status(400).send({ error: 'unknown or expired state; start again at /auth/login' });
    if ((await within('Redis', redis.exists(key('state-used', state)))) === 1) return reply.status(400).send({ error: 'this login was already completed; start again at /auth/login' });
    const token = await fetch(`${api}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: config.discord_auth.client_id, client_secret: config.discord_auth.client_secret, grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!token.ok) return reply.status(400).send({ error: `Discord refused the code (${token.status})` });
    const grant = (await token.json()) as TokenResponse;
    const me = await fetch(`${api}/v10/users/@me`, { headers: { authorization: `Bearer ${grant.access_token}` }, signal: AbortSignal.timeout(10_000) });
    if (!me.ok) return reply.status(502).send({ error: `reading the user failed (${me.status})` });
    const user = (await me.json()) as SessionUser;
    if ((await within('Redis', redis.set(key('state-used', state), '1', 'EX', STATE_TTL_S, 'NX'))) !== 'OK') {
      return reply.status(400).send({ error: 'this login was already completed; start again at /auth/login' });
    }
    const session = await sessions.create({ id: user.id, username: user.username, global_name: user.global_name ?? null, avatar: user.avatar ?? null }, grant);
    reply.header('set-cookie', [`session=${session.id}; ${cookieAttributes(config, SESSION_TTL_S)}`, `csrf=${session.csrf}; ${cookieAttributes(config, SESSION_TTL_S, false)}`]);
    return reply.redirect(config.sites.frontend);
  });

  app.get('/auth/me', async (req, reply) => {
    const session = await sessions.get(cookie(req, 'session'));
    if (!session) return reply.status(401).send({ error: 'not logged in: start at /auth/login' });
    return session.user;
  });

  // A form post from the site's own pages (SameSite=Lax keeps other sites' posts cookie-less).
  app.post('/auth/logout', async (req, reply) => {
    await sessions.destroy(cookie(req, 'session'));
    reply.header('set-cookie', [`session=; ${cookieAttributes(config, 0)}`, `csrf=; ${cookieAttributes(config, 0, false)}`]);
    return req.headers.accept?.includes('text/html') ? reply.redirect('/') : { ok: true };
  });
}
