// OAuth2 as Discord does it (topics/oauth2): an authorize page, code -> token exchange, the
// refresh_token grant and revocation. Every access token remembers its user, scopes and expiry,
// so routes that need a scope (PUT /guilds/:g/members/:u wants `guilds.join`) can check it; an
// expired or revoked token is refused like Discord refuses it. /_sim/oauth2 lets a test expire a
// user's access tokens (Discord's last 7 days) to see clients refresh.
import { randomBytes } from 'node:crypto';
import type { RESTOAuth2AuthorizationQuery, RESTPostOAuth2AccessTokenResult } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { DiscordError, invalidForm, type SimContext, str, unknown } from './context';

export interface Grant {
  userId: string;
  redirectUri: string;
  scope: string;
  expires: number;
}

/** An issued access token, and the refresh token issued with it (revoking one revokes both). */
export interface AccessGrant {
  userId: string;
  scope: string;
  expires: number;
  refreshToken: string;
}

/** Discord's access token lifetime (expires_in). */
const ACCESS_TOKEN_SECONDS = 604_800;
/** Scopes Discord grants through the authorization code flow that the sim knows. */
const SCOPES = new Set(['identify', 'email', 'connections', 'guilds', 'guilds.join', 'guilds.members.read', 'bot', 'applications.commands']);

/** The access token's grant when it is live and holds `scope`; undefined otherwise. */
export function liveGrant(ctx: SimContext, accessToken: string, scope: string): AccessGrant | undefined {
  const grant = ctx.accessTokens.get(accessToken);
  if (!grant || grant.expires <= Date.now() || !grant.scope.split(' ').includes(scope)) return undefined;
  return grant;
}

function revoke(ctx: SimContext, accessToken: string): void {
  const grant = ctx.accessTokens.get(accessToken);
  ctx.accessTokens.delete(accessToken);
  ctx.bearerTokens.delete(accessToken);
  if (grant) ctx.refreshTokens.delete(grant.refreshToken);
}

export function oauth2Routes(app: FastifyInstance, ctx: SimContext): void {
  const { world, oauthCodes: codes, refreshTokens } = ctx;
  const clientOf = (b: Record<string, string>, authorization: string | undefined) => {
    const basic = authorization?.startsWith('Basic ') ? Buffer.from(authorization.slice(6), 'base64').toString().split(':') : [];
    return { id: b.client_id ?? basic[0], secret: b.client_secret ?? basic[1] };
  };

  // The page a user sees; `user_id` picks who logs in (the sim has no passwords).
  app.get<{ Querystring: Partial<Record<keyof RESTOAuth2AuthorizationQuery | 'user_id', string>> }>('/oauth2/authorize', (req, reply) => {
    const { client_id, redirect_uri, state = '', scope = 'identify', user_id, response_type = 'code' } = req.query;
    if (client_id !== world.application.id) return reply.status(400).send({ error: 'invalid_client', error_description: 'Unknown client_id' });
    if (!redirect_uri || response_type !== 'code') return reply.status(400).send({ error: 'invalid_request', error_description: 'redirect_uri and response_type=code are required' });
    const unknownScope = scope.split(' ').find((s) => !SCOPES.has(s));
    if (unknownScope !== undefined) return reply.status(400).send({ error: 'invalid_scope', error_description: `Invalid scope: ${unknownScope.replace(/[<>&]/g, '')}` });
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
    const client = clientOf(b, req.headers.authorization);
    if (client.id !== world.application.id || client.secret !== world.clientSecret) {
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
      // A refresh token is used once: the answer carries the next one.
      grant = refreshTokens.get(b.refresh_token ?? '');
      refreshTokens.delete(b.refresh_token ?? '');
      if (!grant) return reply.status(400).send({ error: 'invalid_grant', error_description: 'Invalid "refresh_token" in request.' });
    } else {
      return reply.status(400).send({ error: 'unsupported_grant_type' });
    }
    const accessToken = randomBytes(15).toString('hex');
    const refreshToken = randomBytes(15).toString('hex');
    ctx.bearerTokens.set(accessToken, grant.userId);
    ctx.accessTokens.set(accessToken, { userId: grant.userId, scope: grant.scope, expires: Date.now() + ACCESS_TOKEN_SECONDS * 1000, refreshToken });
    refreshTokens.set(refreshToken, { userId: grant.userId, scope: grant.scope });
    const result: RESTPostOAuth2AccessTokenResult = { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, refresh_token: refreshToken, scope: grant.scope };
    return result;
  });

  // Either token of a grant revokes the whole authorization; the client must authenticate.
  app.post('/oauth2/token/revoke', (req, reply) => {
    const b = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, string>;
    const client = clientOf(b, req.headers.authorization);
    if (client.id !== world.application.id || client.secret !== world.clientSecret) return reply.status(401).send({ error: 'invalid_client' });
    const token = b.token;
    if (!token) throw new DiscordError(400, 50035, 'Invalid Form Body');
    const byRefresh = [...ctx.accessTokens].find(([, g]) => g.refreshToken === token)?.[0];
    revoke(ctx, byRefresh ?? token);
    refreshTokens.delete(token);
    return reply.status(200).send({});
  });
}

export function oauth2ControlRoutes(control: FastifyInstance, ctx: SimContext): void {
  // Ends the lifetime of a user's access tokens now, as 7 days passing would (refresh tokens stay).
  control.post('/_sim/oauth2/expire', (req) => {
    const b = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, unknown>;
    const userId = str(b.user_id, 'user_id', { min: 1, max: 20 })!;
    if (!ctx.world.users.has(userId)) throw unknown('User');
    let expired = 0;
    for (const [token, grant] of ctx.accessTokens) {
      if (grant.userId !== userId) continue;
      grant.expires = Date.now();
      ctx.bearerTokens.delete(token);
      expired++;
    }
    if (b.revoke === true) for (const [token, grant] of [...ctx.accessTokens]) if (grant.userId === userId) revoke(ctx, token);
    return { expired };
  });
  // A test's check that a token is what the sim issued (the webserver must never store it in clear).
  control.post('/_sim/oauth2/introspect', (req) => {
    const b = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, unknown>;
    const token = str(b.token, 'token', { min: 1, max: 200 })!;
    const grant = ctx.accessTokens.get(token);
    if (grant) return { active: grant.expires > Date.now(), kind: 'access', user_id: grant.userId, scope: grant.scope };
    const refresh = ctx.refreshTokens.get(token);
    if (refresh) return { active: true, kind: 'refresh', user_id: refresh.userId, scope: refresh.scope };
    throw invalidForm('token', 'Not a token the sim issued (or it was revoked).');
  });
}
