// Discord OAuth2 login for the website: /auth/login -> Discord's authorize page -> /auth/callback
// (code exchanged for a token, the user read from users/@me) -> a session cookie kept in Redis.
// The OAuth2 state is signed, not stored: an unauthenticated /auth/login writes nothing, and
// only a completed login marks its state used (so it is accepted once).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';
import { within } from './dependency';

const SESSION_TTL_S = 7 * 86_400;
const STATE_TTL_S = 600;
/** Session ids are 24 random bytes in base64url; anything else is not a session. */
const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;

interface SessionUser {
  id: string;
  username: string;
  global_name?: string | null;
  avatar?: string | null;
}

/** The raw value of a cookie; never decoded (our values are base64url), so no bad escape can throw. */
export function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

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

export function authRoutes(app: FastifyInstance, { config, redis }: { config: Config; redis: Redis }): void {
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
    const { access_token } = (await token.json()) as { access_token: string };
    const me = await fetch(`${api}/v10/users/@me`, { headers: { authorization: `Bearer ${access_token}` }, signal: AbortSignal.timeout(10_000) });
    if (!me.ok) return reply.status(502).send({ error: `reading the user failed (${me.status})` });
    const user = (await me.json()) as SessionUser;
    if ((await within('Redis', redis.set(key('state-used', state), '1', 'EX', STATE_TTL_S, 'NX'))) !== 'OK') {
      return reply.status(400).send({ error: 'this login was already completed; start again at /auth/login' });
    }
    const session = randomBytes(24).toString('base64url');
    const value = JSON.stringify({ id: user.id, username: user.username, global_name: user.global_name ?? null, avatar: user.avatar ?? null });
    await within('Redis', redis.set(key('session', session), value, 'EX', SESSION_TTL_S));
    reply.header('set-cookie', `session=${session}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${SESSION_TTL_S}`);
    return reply.redirect(config.sites.frontend);
  });

  app.get('/auth/me', async (req, reply) => {
    const session = cookie(req, 'session');
    const user = session && SESSION_ID.test(session) ? await within('Redis', redis.get(key('session', session))) : null;
    if (!user) return reply.status(401).send({ error: 'not logged in: start at /auth/login' });
    return JSON.parse(user) as SessionUser;
  });

  app.post('/auth/logout', async (req, reply) => {
    const session = cookie(req, 'session');
    if (session && SESSION_ID.test(session)) await within('Redis', redis.del(key('session', session)));
    reply.header('set-cookie', 'session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0');
    return { ok: true };
  });
}
