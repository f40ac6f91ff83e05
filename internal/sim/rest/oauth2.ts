// OAuth2 for the webserver's login: an authorize page, code -> token exchange, refresh.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DiscordError, type SimContext } from './context';

export interface Grant {
  userId: string;
  redirectUri: string;
  scope: string;
  expires: number;
}

export function oauth2Routes(app: FastifyInstance, ctx: SimContext): void {
  const { world, oauthCodes: codes, refreshTokens } = ctx;

  // The page a user sees; `user_id` picks who logs in (the sim has no passwords).
  app.get<{ Querystring: Record<string, string | undefined> }>('/oauth2/authorize', (req, reply) => {
    const { client_id, redirect_uri, state = '', scope = 'identify', user_id, response_type = 'code' } = req.query;
    if (client_id !== world.application.id) return reply.status(400).send({ error: 'invalid_client', error_description: 'Unknown client_id' });
    if (!redirect_uri || response_type !== 'code') return reply.status(400).send({ error: 'invalid_request', error_description: 'redirect_uri and response_type=code are required' });
    const users = [...world.users.values()].filter((u) => !u.bot);
    if (!user_id) {
      const links = users.slice(0, 20).map((u) => `<li><a href="?${new URLSearchParams({ ...req.query, user_id: u.id } as Record<string, string>)}">Authorize as ${u.username}</a></li>`);
      return reply.type('text/html').send(`<!doctype html><title>Authorize splashtail (sim)</title><h1>Authorize splashtail</h1><p>Scopes: ${scope.replace(/[<>&]/g, '')}</p><ul>${links.join('')}</ul>`);
    }
    if (!world.users.has(user_id)) return reply.status(400).send({ error: 'invalid_request', error_description: 'Unknown user_id' });
    const code = randomBytes(15).toString('hex');
    codes.set(code, { userId: user_id, redirectUri: redirect_uri, scope, expires: Date.now() + 600_000 });
    const target = new URL(redirect_uri);
    target.searchParams.set('code', code);
    if (state) target.searchParams.set('state', state);
    return reply.redirect(target.toString());
  });

  app.post('/oauth2/token', (req, reply) => {
    const b = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, string>;
    const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':') : [];
    const clientId = b.client_id ?? basic[0];
    const clientSecret = b.client_secret ?? basic[1];
    if (clientId !== world.application.id || clientSecret !== world.clientSecret) {
      return reply.status(401).send({ error: 'invalid_client' });
    }
    let grant: { userId: string; scope: string } | undefined;
    if (b.grant_type === 'authorization_code') {
      const found = codes.get(b.code ?? '');
      codes.delete(b.code ?? '');
      if (!found || found.expires < Date.now() || found.redirectUri !== b.redirect_uri) {
        return reply.status(400).send({ error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
      }
      grant = found;
    } else if (b.grant_type === 'refresh_token') {
      grant = refreshTokens.get(b.refresh_token ?? '');
      refreshTokens.delete(b.refresh_token ?? '');
      if (!grant) return reply.status(400).send({ error: 'invalid_grant' });
    } else {
      return reply.status(400).send({ error: 'unsupported_grant_type' });
    }
    const accessToken = randomBytes(15).toString('hex');
    const refreshToken = randomBytes(15).toString('hex');
    ctx.bearerTokens.set(accessToken, grant.userId);
    refreshTokens.set(refreshToken, grant);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: 604800, refresh_token: refreshToken, scope: grant.scope };
  });

  app.post('/oauth2/token/revoke', (req, reply) => {
    const token = (req.body as Record<string, string> | undefined)?.token;
    if (!token) throw new DiscordError(400, 50035, 'Invalid Form Body');
    ctx.bearerTokens.delete(token);
    return reply.status(200).send({});
  });
}
