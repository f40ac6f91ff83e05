// Discord OAuth2 login for the website: /auth/login -> Discord's authorize page -> /auth/callback
// (code exchanged for a token, the user read from users/@me) -> a session cookie kept in Redis.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';

const SESSION_TTL_S = 7 * 86_400;
const STATE_TTL_S = 600;

interface SessionUser {
  id: string;
  username: string;
  global_name?: string | null;
  avatar?: string | null;
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function authRoutes(app: FastifyInstance, { config, redis }: { config: Config; redis: Redis }): void {
  const api = config.discord_auth.api_url.replace(/\/$/, '');
  const redirectUri = config.discord_auth.allowed_redirects[0] ?? `${config.sites.api}/auth/callback`;
  const key = (kind: string, id: string) => `splashtail:web:${kind}:${id}`;

  app.get('/auth/login', async (_req, reply) => {
    const state = randomBytes(16).toString('hex');
    await redis.set(key('state', state), '1', 'EX', STATE_TTL_S);
    const params = new URLSearchParams({ client_id: config.discord_auth.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'identify guilds', state });
    return reply.redirect(`${api}/oauth2/authorize?${params}`);
  });

  app.get('/auth/callback', async (req, reply) => {
    const { code, state } = req.query as { code?: string; state?: string };
    if (!code || !state) return reply.status(400).send({ error: 'code and state are required' });
    if ((await redis.del(key('state', state))) !== 1) return reply.status(400).send({ error: 'unknown or expired state; start again at /auth/login' });
    const token = await fetch(`${api}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: config.discord_auth.client_id, client_secret: config.discord_auth.client_secret, grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
    });
    if (!token.ok) return reply.status(400).send({ error: `Discord refused the code (${token.status})` });
    const { access_token } = (await token.json()) as { access_token: string };
    const me = await fetch(`${api}/v10/users/@me`, { headers: { authorization: `Bearer ${access_token}` } });
    if (!me.ok) return reply.status(502).send({ error: `reading the user failed (${me.status})` });
    const user = (await me.json()) as SessionUser;
    const session = randomBytes(24).toString('base64url');
    await redis.set(key('session', session), JSON.stringify({ id: user.id, username: user.username, global_name: user.global_name ?? null, avatar: user.avatar ?? null }), 'EX', SESSION_TTL_S);
    reply.header('set-cookie', `session=${session}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${SESSION_TTL_S}`);
    return reply.redirect(config.sites.frontend);
  });

  app.get('/auth/me', async (req, reply) => {
    const session = cookie(req, 'session');
    const user = session ? await redis.get(key('session', session)) : null;
    if (!user) return reply.status(401).send({ error: 'not logged in: start at /auth/login' });
    return JSON.parse(user) as SessionUser;
  });

  app.post('/auth/logout', async (req, reply) => {
    const session = cookie(req, 'session');
    if (session) await redis.del(key('session', session));
    reply.header('set-cookie', 'session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0');
    return { ok: true };
  });
}
