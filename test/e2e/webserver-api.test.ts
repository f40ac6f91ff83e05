// /api/v1 of the webserver against the sim, the jobserver, Postgres and Redis: who may do what
// (Manage Server asked of Discord, operators, API tokens, CSRF), bad input named, rate limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DEFAULT_CLIENT_SECRET } from '../../internal/sim/world';
import { tokenBox } from '../../webserver/token-box';
import { REDIS_URL } from '../helpers/services';
import { type Login, login, startWebsiteStack, type WebsiteStack } from '../helpers/website';

type Answer = { status: number; body: Record<string, unknown> & { error?: string; code?: string }; headers: Headers };

describe('webserver API /api/v1', () => {
  let s: WebsiteStack;
  let owner: Login;
  let stranger: Login;
  let operator: Login;
  let guildA: string;
  let guildB: string;

  /** A request; `as` a login (cookie + CSRF header on writes unless csrf: false) or a raw Authorization. */
  const call = async (method: string, path: string, o: { as?: Login; auth?: string; body?: unknown; csrf?: string | false; raw?: string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (o.as) headers.cookie = o.as.cookie;
    if (o.as && o.csrf !== false && method !== 'GET') headers['x-csrf-token'] = o.csrf ?? o.as.csrf;
    if (o.auth) headers.authorization = o.auth;
    if (o.body !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${s.api}/api/v1${path}`, { method, headers, body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {}, headers: res.headers };
  };
  const waitTask = async (as: Login, guild: string, id: string) => {
    for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 200))) {
      const { body } = await call('GET', `/guilds/${guild}/tasks/${id}`, { as });
      if (body.state === 'completed') return body;
      assert.ok(['pending', 'running'].includes(body.state as string) && Date.now() < deadline, JSON.stringify(body));
    }
  };

  before(async () => {
    s = await startWebsiteStack();
    [guildA, guildB] = [s.guilds[0]!.id, s.guilds[1]!.id];
    [owner, stranger, operator] = await Promise.all([login(s.api, s.owner), login(s.api, s.stranger), login(s.api, s.operator)]);
  });
  after(async () => {
    await s?.stop();
  });

  it('the session cookie is HttpOnly and SameSite=Lax; csrf is readable by the page', async () => {
    const authorize = new URL((await fetch(`${s.api}/auth/login`, { redirect: 'manual' })).headers.get('location')!);
    authorize.searchParams.set('user_id', s.owner);
    const consent = await fetch(authorize, { redirect: 'manual' });
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    assert.equal(callback.headers.get('location'), `${s.api}/`);
    const [session, csrf] = callback.headers.getSetCookie();
    assert.match(session!, /^session=[\w-]{32}; HttpOnly; SameSite=Lax; Path=\//);
    assert.match(csrf!, /^csrf=[\w-]{32}; SameSite=Lax; Path=\//);
    assert.doesNotMatch(csrf!, /HttpOnly/);
  });

  it('GET /users/@me: the session user; 401 without a login or with a wrong token', async () => {
    const me = await call('GET', '/users/@me', { as: owner });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, s.owner);
    assert.equal(me.body.operator, false);
    assert.equal((await call('GET', '/users/@me', { as: operator })).body.operator, true);
    assert.deepEqual((await call('GET', '/users/@me')).body, { error: 'not logged in: log in at /auth/login or send Authorization: User <token>', code: 'unauthorized' });
    for (const auth of ['User st_wrong', `User st_${'A'.repeat(43)}`, 'Bearer x', `Bot ${owner.session}`]) {
      const res = await call('GET', '/users/@me', { auth });
      assert.equal(res.status, 401, auth);
      assert.equal(res.body.code, 'invalid_token');
    }
  });

  it('GET /users/@me/guilds: servers the user manages, with whether the bot is in each', async () => {
    const mine = await call('GET', '/users/@me/guilds', { as: owner });
    assert.equal(mine.status, 200);
    const guilds = mine.body.guilds as { id: string; bot_in: boolean; owner: boolean }[];
    assert.deepEqual(guilds.map((g) => [g.id, g.owner, g.bot_in]), [[guildA, true, true]]);
    // A plain member of guild A: it is among their guilds, but they cannot manage it.
    assert.deepEqual((await call('GET', '/users/@me/guilds', { as: stranger })).body.guilds, []);
  });

  it('keeps the OAuth2 grant encrypted in Redis and refreshes it once expired', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const key = `splashtail:web:grant:${s.owner}`;
      // The sim's client secret is the config's: the key of the box.
      const box = tokenBox(DEFAULT_CLIENT_SECRET);
      const grant = JSON.parse(box.open((await redis.get(key))!)!) as { access_token: string; refresh_token: string; expires_at: number };
      assert.equal((await redis.get(key))!.includes(grant.access_token), false, 'not in clear');
      await redis.set(key, box.seal(JSON.stringify({ ...grant, expires_at: Date.now() - 1 })), 'KEEPTTL');
      assert.equal((await call('GET', '/users/@me/guilds', { as: owner })).status, 200);
      const refreshed = JSON.parse(box.open((await redis.get(key))!)!) as typeof grant;
      assert.notEqual(refreshed.access_token, grant.access_token);
      assert.ok(refreshed.expires_at > Date.now() + 86_400_000);
      // A grant that cannot be refreshed: log in again (401), never a 500.
      await redis.set(key, box.seal(JSON.stringify({ ...refreshed, refresh_token: 'revoked', expires_at: 0 })), 'KEEPTTL');
      const stale = await call('GET', '/users/@me/guilds', { as: owner });
      assert.deepEqual([stale.status, stale.body.code], [401, 'login_required']);
    } finally {
      await redis.quit();
    }
    owner = await login(s.api, s.owner);
  });

  it('API tokens: created once, act as their user, listed without the secret, revoked', async () => {
    const created = await call('POST', '/users/@me/tokens', { as: owner, body: { name: 'ci' } });
    assert.equal(created.status, 201);
    const token = created.body.token as string;
    const id = (created.body.info as { id: string }).id;
    assert.match(token, /^st_[\w-]{43}$/);
    const me = await call('GET', '/users/@me', { auth: `User ${token}` });
    assert.deepEqual([me.status, me.body.id, me.body.via], [200, s.owner, 'token']);
    // A token can write without CSRF (no cookie is involved) and reads the user's servers.
    assert.equal((await call('GET', '/users/@me/guilds', { auth: `User ${token}` })).status, 200);
    const list = await call('GET', '/users/@me/tokens', { as: owner });
    assert.equal(JSON.stringify(list.body).includes(token), false);
    assert.deepEqual((list.body.tokens as { id: string }[]).map((t) => t.id), [id]);
    assert.equal((await call('DELETE', `/users/@me/tokens/${id}`, { as: stranger })).status, 404, 'not their token');
    assert.equal((await call('DELETE', `/users/@me/tokens/${id}`, { as: owner })).status, 204);
    const revoked = await call('GET', '/users/@me', { auth: `User ${token}` });
    assert.deepEqual([revoked.status, revoked.body.code], [401, 'invalid_token']);
    assert.equal(((await call('GET', '/users/@me/tokens', { as: owner })).body.tokens as { revoked_at: string | null }[])[0]!.revoked_at !== null, true);
  });

  it('a write with the session cookie needs X-CSRF-Token equal to the csrf cookie', async () => {
    for (const csrf of [false, 'x'.repeat(32), stranger.csrf] as const) {
      const res = await call('POST', '/users/@me/tokens', { as: owner, body: { name: 'x' }, csrf });
      assert.deepEqual([res.status, res.body.code], [403, 'csrf'], String(csrf));
      const put = await call('PUT', `/guilds/${guildA}/settings/moderation`, { as: owner, body: { modlog_channel_id: null }, csrf });
      assert.deepEqual([put.status, put.body.code], [403, 'csrf']);
    }
    // A cross-site form post carries the cookie but cannot set the header.
    const form = await fetch(`${s.api}/api/v1/guilds/${guildA}/tasks`, { method: 'POST', headers: { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: 'name=guild_create_backup' });
    assert.equal(form.status, 403);
  });

  it('every guild route refuses a user without Manage Server, a wrong or revoked token, a cookie write without CSRF', async () => {
    const { body } = await call('POST', '/users/@me/tokens', { as: stranger, body: { name: 'stranger' } });
    const strangerToken = `User ${body.token as string}`;
    const revoked = await call('POST', '/users/@me/tokens', { as: owner, body: { name: 'soon revoked' } });
    await call('DELETE', `/users/@me/tokens/${(revoked.body.info as { id: string }).id}`, { as: owner });
    const task = '00000000-0000-4000-8000-000000000000';
    const routes: [string, string, unknown?][] = [
      ['GET', `/guilds/${guildA}`], ['POST', `/guilds/${guildA}/tasks`, { name: 'guild_create_backup' }],
      ['GET', `/guilds/${guildA}/tasks`], ['GET', `/guilds/${guildA}/tasks/${task}`], ['GET', `/guilds/${guildA}/tasks/${task}/download`],
      ...['limits', 'moderation', 'permissions'].flatMap((m): [string, string, unknown?][] => [['GET', `/guilds/${guildA}/settings/${m}`], ['PUT', `/guilds/${guildA}/settings/${m}`, {}]]),
    ];
    for (const [method, path, payload] of routes) {
      for (const who of [{ as: stranger }, { auth: strangerToken }]) {
        const res = await call(method, path, { ...who, body: payload });
        assert.deepEqual([res.status, res.body.code], [403, 'missing_permissions'], `${method} ${path} ${JSON.stringify(res.body)}`);
      }
      for (const auth of ['User st_wrong', `User ${revoked.body.token as string}`]) {
        assert.equal((await call(method, path, { auth, body: payload })).status, 401, `${method} ${path} ${auth}`);
      }
      if (method !== 'GET') assert.equal((await call(method, path, { as: owner, body: payload, csrf: false })).status, 403, `${method} ${path} without CSRF`);
    }
    // The owner of guild A is a stranger to guild B.
    assert.equal((await call('GET', `/guilds/${guildB}/settings/limits`, { as: owner })).status, 403);
  });

  it('malformed bodies and parameters get a 4xx naming the field', async () => {
    const cases: [string, string, string | undefined, unknown, RegExp][] = [
      ['PUT', `/guilds/${guildA}/settings/limits`, undefined, { rules: [{ id: 1, kind: 'nope', count: 1, seconds: 1, punishment: 'ban' }] }, /^body\.rules\.0\.kind: /],
      ['PUT', `/guilds/${guildA}/settings/limits`, undefined, { rules: [{ id: 1, kind: 'role_create', count: 0, seconds: 1, punishment: 'ban' }] }, /^body\.rules\.0\.count: /],
      ['PUT', `/guilds/${guildA}/settings/limits`, undefined, { exempt_users: ['123'] }, /^body\.exempt_users\.0: /],
      ['PUT', `/guilds/${guildA}/settings/limits`, undefined, { next_rule_id: 9 }, /^body: Unrecognized key: "next_rule_id"/],
      ['PUT', `/guilds/${guildA}/settings/moderation`, undefined, { modlog_channel_id: 'general' }, /^body\.modlog_channel_id: /],
      ['PUT', `/guilds/${guildA}/settings/permissions`, undefined, { overrides: [{ command: 'ban', role_id: guildA, allow: 'yes' }] }, /^body\.overrides\.0\.allow: /],
      ['PUT', `/guilds/${guildA}/settings/permissions`, undefined, [], /^body: /],
      ['POST', `/guilds/${guildA}/tasks`, undefined, { name: 5 }, /^body\.name must be string/],
      ['POST', `/guilds/${guildA}/tasks`, undefined, { name: 'guild_create_backup', extra: 1 }, /^body\.extra is not a known property/],
      ['POST', `/guilds/${guildA}/tasks`, undefined, { name: 'guild_create_backup', data: { messages_per_channel: 'many' } }, /^body\/data\/messages_per_channel: /],
      ['POST', `/guilds/${guildA}/tasks`, undefined, { name: 'guild_restore_backup', data: { backup_task_id: 'nope' } }, /^body\/data\/backup_task_id: /],
      ['POST', `/guilds/${guildA}/tasks`, '{"name":', undefined, /JSON/],
      ['POST', '/users/@me/tokens', undefined, {}, /^body\.name is required/],
      ['POST', '/users/@me/tokens', undefined, { name: '' }, /^body\.name must NOT have fewer than 1 characters/],
      ['GET', `/guilds/${guildA}/tasks?limit=0`, undefined, undefined, /^querystring\.limit must be >= 1/],
      ['GET', `/guilds/not-an-id/tasks`, undefined, undefined, /^params\.id must match pattern/],
      ['GET', `/guilds/${guildA}/tasks/not-a-task`, undefined, undefined, /^params\.task_id must match pattern/],
      ['DELETE', '/users/@me/tokens/nope', undefined, undefined, /^params\.token_id must match format "uuid"/],
    ];
    for (const [method, path, raw, body, expected] of cases) {
      const res = await call(method, path, { as: owner, body, raw });
      assert.equal(res.status, 400, `${method} ${path} ${raw ?? JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, expected, `${method} ${path}`);
      assert.equal(typeof res.body.code, 'string');
    }
  });

  it('a backup: started, listed, followed to completed, downloaded by its signed link', async () => {
    const created = await call('POST', `/guilds/${guildA}/tasks`, { as: owner, body: { name: 'guild_create_backup', data: { messages_per_channel: 2 } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.task_id as string;
    const listed = await call('GET', `/guilds/${guildA}/tasks`, { as: owner });
    assert.ok((listed.body.tasks as { task_id: string }[]).some((t) => t.task_id === id));
    const done = await waitTask(owner, guildA, id);
    assert.ok((done.statuses as unknown[]).length > 0);
    const link = await call('GET', `/guilds/${guildA}/tasks/${id}/download`, { as: owner });
    assert.equal(link.status, 200);
    const file = (await (await fetch(link.body.url as string)).json()) as { format: string; backup: { guild: { id: string } } };
    assert.equal(file.format, 'splashtail-backup/1');
    assert.equal(file.backup.guild.id, guildA);
    // Guild B's operator-owner cannot reach guild A's task through guild B.
    assert.equal((await call('GET', `/guilds/${guildB}/tasks/${id}`, { as: operator })).status, 404);
    assert.equal((await call('GET', `/guilds/${guildB}/tasks/${id}/download`, { as: operator })).status, 404);
    // A restore of guild A's backup into guild B: the jobserver's rule (owner of both) says no.
    const cross = await call('POST', `/guilds/${guildB}/tasks`, { as: operator, body: { name: 'guild_restore_backup', data: { backup_task_id: id } } });
    assert.equal(cross.status, 403, JSON.stringify(cross.body));
  });

  it('settings: written through the modules\' schemas, read back, rule ids never reused', async () => {
    const rule = { id: 1, kind: 'channel_delete', count: 2, seconds: 60, punishment: 'kick' };
    const put = await call('PUT', `/guilds/${guildA}/settings/limits`, { as: owner, body: { rules: [rule], exempt_users: [s.stranger], exempt_roles: [] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body, { rules: [{ ...rule, revert: false }], next_rule_id: 2, exempt_users: [s.stranger], exempt_roles: [] });
    const emptied = await call('PUT', `/guilds/${guildA}/settings/limits`, { as: owner, body: {} });
    assert.equal(emptied.body.next_rule_id, 2, 'removing the rule keeps its id used');
    const summary = (await call('GET', `/guilds/${guildA}`, { as: owner })).body as { name: string; channels: { id: string; name: string }[]; roles: { id: string }[] };
    assert.equal(summary.name, s.guilds[0]!.name);
    assert.deepEqual(summary.channels.map((c) => c.id).sort(), s.guilds[0]!.channels.filter((c) => c.type === 0 || c.type === 5).map((c) => c.id).sort());
    assert.ok(!summary.roles.some((r) => r.id === guildA), '@everyone is not offered');
    const channel = summary.channels[0]!.id;
    await call('PUT', `/guilds/${guildA}/settings/moderation`, { as: owner, body: { modlog_channel_id: channel } });
    assert.deepEqual((await call('GET', `/guilds/${guildA}/settings/moderation`, { as: owner })).body, { modlog_channel_id: channel });
    const overrides = [{ command: 'ban', role_id: guildA, allow: false }];
    assert.deepEqual((await call('PUT', `/guilds/${guildA}/settings/permissions`, { as: owner, body: { overrides } })).body, { overrides });
  });

  it('clusters: operators see and restart them; others get 403', async () => {
    for (const [method, path] of [['GET', '/clusters'], ['GET', '/clusters/actions'], ['POST', '/clusters/0/restart'], ['POST', '/clusters/rolling-restart'], ['POST', '/clusters/reshard']] as const) {
      const res = await call(method, path, { as: owner });
      assert.deepEqual([res.status, res.body.code], [403, 'not_operator'], `${method} ${path}`);
    }
    const before = ((await call('GET', '/clusters', { as: operator })).body.clusters as { id: number; pid: number }[])[0]!;
    assert.equal((await call('POST', '/clusters/0/restart', { as: operator, csrf: false })).status, 403, 'CSRF applies to operators too');
    assert.equal((await call('POST', '/clusters/7/restart', { as: operator })).status, 404);
    const restarted = await call('POST', '/clusters/0/restart', { as: operator });
    assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
    const after = ((await call('GET', '/clusters', { as: operator })).body.clusters as { pid: number; state: string }[])[0]!;
    assert.notEqual(after.pid, before.pid);
    const actions = (await call('GET', '/clusters/actions?limit=20', { as: operator })).body.actions as { action: string }[];
    assert.ok(actions.some((a) => /restart/.test(a.action)), JSON.stringify(actions));
    const reshard = await call('POST', '/clusters/reshard', { as: operator });
    assert.deepEqual([reshard.status, reshard.body.resharded], [200, false]);
  });

  it('the OpenAPI document at /docs describes every route', async () => {
    const doc = (await (await fetch(`${s.api}/docs/json`)).json()) as { paths: Record<string, Record<string, { summary?: string }>> };
    for (const path of ['/api/v1/users/@me', '/api/v1/users/@me/guilds', '/api/v1/users/@me/tokens', '/api/v1/users/@me/tokens/{token_id}', '/api/v1/guilds/{id}', '/api/v1/guilds/{id}/tasks', '/api/v1/guilds/{id}/tasks/{task_id}', '/api/v1/guilds/{id}/tasks/{task_id}/download', '/api/v1/guilds/{id}/settings/limits', '/api/v1/clusters', '/api/v1/clusters/{cluster_id}/restart', '/api/v1/clusters/actions']) {
      assert.ok(doc.paths[path], `${path} documented`);
      for (const [method, op] of Object.entries(doc.paths[path]!)) assert.ok(op.summary, `${method} ${path} has a summary`);
    }
    assert.equal(Object.keys(doc.paths).filter((p) => !p.startsWith('/api/v1')).length, 0, 'only the API is documented');
  });

  it("a server's mirror links, either side, for Manage Server only, never the webhook token", async () => {
    const pool = new pg.Pool({ connectionString: s.postgresUrl, max: 1 });
    const [a, b] = s.guilds;
    const row = { source_guild_id: guildA, source_channel_id: a!.channels[0]!.id, target_guild_id: guildB, target_channel_id: b!.channels[0]!.id, created_by: s.owner };
    await pool.query(
      `insert into mirror_links (source_guild_id, source_channel_id, target_guild_id, target_channel_id, webhook_id, webhook_token, created_by) values ($1, $2, $3, $4, '1234567890123456789', 'the-webhook-token-secret', $5)`,
      [row.source_guild_id, row.source_channel_id, row.target_guild_id, row.target_channel_id, row.created_by],
    );
    await pool.end();
    const links = await call('GET', `/guilds/${guildA}/mirror/links`, { as: owner });
    assert.equal(links.status, 200);
    assert.deepEqual((links.body.links as Record<string, unknown>[]).map(({ id: _, ...l }) => l), [row]);
    assert.doesNotMatch(JSON.stringify(links.body), /the-webhook-token-secret|1234567890123456789/);
    assert.equal(((await call('GET', `/guilds/${guildB}/mirror/links`, { as: operator })).body.links as unknown[]).length, 1, 'the target side sees it too');
    assert.equal((await call('GET', `/guilds/${guildA}/mirror/links`, { as: stranger })).status, 403);
    assert.equal((await call('GET', `/guilds/${guildB}/mirror/links`, { as: owner })).status, 403);
  });

  // Last: it uses up the user's window.
  it('429 under a burst, with retry_after and Discord-style headers', async () => {
    // The windows are fixed 10 s slices of the (shared) clock: start early in one, so the burst
    // does not straddle two.
    const into = Date.now() % 10_000;
    if (into > 5_000) await new Promise((r) => setTimeout(r, 10_050 - into));
    const answers = await Promise.all(Array.from({ length: 140 }, () => call('GET', '/users/@me', { as: stranger })));
    const limited = answers.filter((a) => a.status === 429);
    // 120 per 10 s per user: at least 20 of 140 are refused (more when earlier tests used the window).
    assert.ok(limited.length >= 20, `${limited.length} of 140 refused`);
    assert.equal(limited.length + answers.filter((a) => a.status === 200).length, 140);
    const one = limited[0]!;
    assert.equal(one.body.code, 'rate_limited');
    assert.ok(typeof one.body.retry_after === 'number' && one.body.retry_after > 0 && one.body.retry_after <= 10);
    assert.equal(one.headers.get('x-ratelimit-limit'), '120');
    assert.equal(one.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(one.headers.get('x-ratelimit-scope'), 'user');
    assert.match(one.headers.get('x-ratelimit-reset-after')!, /^\d+\.\d{3}$/);
    assert.match(one.headers.get('retry-after')!, /^\d+$/);
    // Another user is not affected.
    assert.equal((await call('GET', '/users/@me', { as: owner })).status, 200);
  });
});
