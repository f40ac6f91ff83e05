// Member restore opt-in, apart from the dashboard login: a user agrees to be put back into one
// guild after a raid. GET /auth/member-restore?guild_id=G sends them to Discord's authorize page
// (scope `identify guilds.join`); the callback stores their tokens encrypted (meta.oauth_token_key)
// with the opt-in in Postgres, and leaves a cookie (path /auth/member-restore) by which
// GET /auth/member-restore/me lists their opt-ins and DELETE /auth/member-restore[?guild_id=G]
// withdraws one or all (the last one also deletes the tokens and revokes them on Discord).
// The state is signed (guild id and expiry), not stored; the code itself is single-use.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';
import { migrate } from '../internal/db/migrate';
import { ensureDatabase, type Pool } from '../internal/db/pool';
import { isDatabaseUnavailable } from '../internal/db/unavailable';
import { Unavailable } from '../internal/http/service';
import { DiscordOAuth, GrantRefused } from '../internal/member-restore/discord-oauth';
import { TokenCipher } from '../internal/member-restore/token-cipher';
import { MemberRestoreStore } from '../internal/member-restore/token-store';
import { cookie } from './identity';
import { within } from './dependency';

const PATH = '/auth/member-restore';
const COOKIE = 'member_restore';
const SESSION_TTL_S = 30 * 86_400;
const STATE_TTL_S = 600;
const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;
const GuildId = Type.String({ pattern: '^\\d{17,20}$', description: 'the guild to be put back into (a Discord id)' });

/** `<guild id>.<expiry>.<nonce>.<hmac>`: which guild the user is opting in for, checked in constant time. */
function stateSigner(key: string) {
  const mac = (payload: string) => createHmac('sha256', key).update(`member-restore-state:${payload}`).digest('base64url');
  return {
    issue: (guildId: string) => {
      const payload = `${guildId}.${Math.floor(Date.now() / 1000) + STATE_TTL_S}.${randomBytes(12).toString('base64url')}`;
      return `${payload}.${mac(payload)}`;
    },
    /** The guild id of a valid, unexpired state; undefined otherwise. */
    guild: (state: string): string | undefined => {
      const m = /^((\d{17,20})\.(\d{1,12})\.[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(state);
      if (!m || Number(m[3]) * 1000 < Date.now()) return undefined;
      const a = Buffer.from(m[4]!);
      const b = Buffer.from(mac(m[1]!));
      return a.length === b.length && timingSafeEqual(a, b) ? m[2] : undefined;
    },
  };
}

export function memberRestoreRoutes(base: FastifyInstance, { config, redis, pool }: { config: Config; redis: Redis; pool: Pool }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const key = config.meta.oauth_token_key;
  const api = config.discord_auth.api_url.replace(/\/$/, '');
  const redirectUri = config.discord_auth.allowed_redirects.find((u) => u.endsWith(`${PATH}/callback`)) ?? `${config.sites.api}${PATH}/callback`;
  const states = stateSigner(`${config.discord_auth.client_secret}`);
  const oauth = new DiscordOAuth({ api, clientId: config.discord_auth.client_id, clientSecret: config.discord_auth.client_secret });
  const store = key ? new MemberRestoreStore(pool, new TokenCipher(key), oauth) : undefined;
  // Tables are made on first use (the jobserver and bots migrate too, under the same lock).
  let migrated: Promise<unknown> | undefined;
  const ready = async (): Promise<MemberRestoreStore> => {
    if (!store) throw new Unavailable('member restore is off on this server: meta.oauth_token_key is not set');
    migrated ??= ensureDatabase(config.meta.postgres_url).then(() => migrate(pool)).catch((err: unknown) => {
      migrated = undefined;
      throw err;
    });
    await postgres(migrated);
    return store;
  };
  const sessionKey = (id: string) => `splashtail:web:member-restore:${id}`;
  const sessionUser = async (req: FastifyRequest): Promise<string | undefined> => {
    const id = cookie(req, COOKIE);
    return id && SESSION_ID.test(id) ? ((await within('Redis', redis.get(sessionKey(id)))) ?? undefined) : undefined;
  };
  const notSignedIn = (reply: FastifyReply) => reply.status(401).send({ error: `no member-restore opt-in in this browser: opt in at ${PATH}?guild_id=<server id>` });

  app.get(PATH, { schema: { querystring: Type.Object({ guild_id: GuildId }) } }, async (req, reply) => {
    await ready();
    const params = new URLSearchParams({ client_id: config.discord_auth.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'identify guilds.join', state: states.issue(req.query.guild_id), prompt: 'consent' });
    return reply.redirect(`${api}/oauth2/authorize?${params}`);
  });

  app.get(`${PATH}/callback`, { schema: { querystring: Type.Object({ code: Type.String({ minLength: 1, maxLength: 200 }), state: Type.String({ minLength: 1, maxLength: 200 }) }) } }, async (req, reply) => {
    const restore = await ready();
    const guildId = states.guild(req.query.state);
    if (!guildId) return reply.status(400).send({ error: `unknown or expired state; start again at ${PATH}?guild_id=<server id>` });
    let grant;
    try {
      grant = await oauth.exchange(req.query.code, redirectUri);
    } catch (err) {
      if (err instanceof GrantRefused) return reply.status(400).send({ error: `Discord refused the code (used already or expired); start again at ${PATH}?guild_id=${guildId}` });
      throw new Unavailable('Discord could not be reached to finish the opt-in; try again shortly', { cause: err });
    }
    if (!grant.scope.split(' ').includes('guilds.join')) return reply.status(400).send({ error: 'the authorization lacks the guilds.join scope, which member restore needs' });
    const me = await fetch(`${api}/v10/users/@me`, { headers: { authorization: `Bearer ${grant.access_token}` }, signal: AbortSignal.timeout(10_000) });
    if (!me.ok) throw new Unavailable(`reading the user from Discord failed (${me.status}); try again shortly`);
    const user = (await me.json()) as { id: string; username: string };
    await postgres(restore.optIn(user.id, guildId, grant));
    const session = randomBytes(24).toString('base64url');
    await within('Redis', redis.set(sessionKey(session), user.id, 'EX', SESSION_TTL_S));
    reply.header('set-cookie', `${COOKIE}=${session}; HttpOnly; SameSite=Lax; Path=${PATH}; Max-Age=${SESSION_TTL_S}`);
    req.log.info({ user_id: user.id, guild_id: guildId }, 'member restore opt-in');
    return { user_id: user.id, username: user.username, guild_id: guildId, opted_in: true, withdraw: `DELETE ${PATH}?guild_id=${guildId}` };
  });

  app.get(`${PATH}/me`, async (req, reply) => {
    const restore = await ready();
    const userId = await sessionUser(req);
    if (!userId) return notSignedIn(reply);
    return { user_id: userId, guilds: await postgres(restore.guildsOf(userId)) };
  });

  app.delete(PATH, { schema: { querystring: Type.Object({ guild_id: Type.Optional(GuildId) }) } }, async (req, reply) => {
    const restore = await ready();
    const userId = await sessionUser(req);
    if (!userId) return notSignedIn(reply);
    const { removed, revoke } = await postgres(restore.optOut(userId, req.query.guild_id));
    if (revoke) {
      // The tokens are deleted already; a revocation Discord does not take is logged, not fatal.
      await oauth.revoke(revoke).catch((err: Error) => req.log.warn({ user_id: userId, err: err.message }, 'revoking member-restore tokens on Discord failed'));
      const id = cookie(req, COOKIE)!;
      await within('Redis', redis.del(sessionKey(id)));
      reply.header('set-cookie', `${COOKIE}=; HttpOnly; SameSite=Lax; Path=${PATH}; Max-Age=0`);
    }
    req.log.info({ user_id: userId, guild_id: req.query.guild_id ?? 'all', removed }, 'member restore opt-out');
    return { user_id: userId, removed, guilds: await postgres(restore.guildsOf(userId)) };
  });
}

/** Postgres down -> 503 naming it, not a stack trace. */
async function postgres<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw new Unavailable('Postgres is unavailable; try again shortly', { cause: err });
    throw err;
  }
}
