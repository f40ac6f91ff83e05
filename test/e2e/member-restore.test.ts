// Member restore, end to end through the sim: members opt in on the webserver's own authorize
// route (the sim's OAuth2, as those users), a raider nukes the guild (channels and roles deleted,
// members kicked), a backup restore and `/backups members` (the bot behind the proxy) bring it back with the members who
// opted in, with their backed-up roles, and nobody else. Then the tokens: encrypted in Postgres,
// refreshed before expiry and when Discord refuses them, withdrawn by the user.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLogEvent, PermissionFlagsBits as P } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TokenCipher } from '../../internal/member-restore/token-cipher';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase, dropRedisKeys, REDIS_URL, uniqueName } from '../helpers/services';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
/** config.yaml.example's dev key, which the services of this test use. */
const TOKEN_KEY = 'dev-oauth-token-key-change-me-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type State = {
  channels: { id: string; name: string }[];
  roles: { id: string; name: string; managed?: boolean; permissions: string; position: number }[];
  members: { user: { id: string }; roles: string[] }[];
  audit_log: { action_type: number; user_id: string; target_id: string; changes?: { key: string; new_value?: unknown }[] }[];
};

describe('member restore (opt-in, nuke, backup restore + member restore)', () => {
  let sim: Running;
  let jobs: Running;
  let proxy: Running;
  let web: Running;
  const proxyPrefix = `${uniqueName('st_member_restore_proxy')}:`;
  let simUrl: string;
  let api: string;
  let jobsUrl: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let guildId: string;
  let ownerId: string;
  const users: Record<'kept' | 'plain' | 'unwilling' | 'raider', string> = { kept: '', plain: '', unwilling: '', raider: '' };
  const cookies: Record<string, string> = {};
  let backupId: string;
  const headers = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };

  const simPost = async (path: string, body: unknown) => {
    const res = await fetch(`${simUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const act = async (userId: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${simUrl}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, method, path, body }) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path} as ${userId}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const state = async () => (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as State;
  const isMember = async (userId: string) => (await state()).members.some((m) => m.user.id === userId);
  const task = async (name: string, data: Record<string, unknown>) => {
    const res = await fetch(`${jobsUrl}/tasks`, { method: 'POST', headers, body: JSON.stringify({ name, for: guildId, data }) });
    const body = (await res.json()) as { task_id: string; error?: string };
    assert.equal(res.status, 201, body.error);
    return body.task_id;
  };
  const finished = async (taskId: string) => {
    for (const deadline = Date.now() + 90_000; ; await sleep(200)) {
      const t = (await (await fetch(`${jobsUrl}/tasks/${taskId}`, { headers })).json()) as { state: string; statuses: { msg: string }[] };
      if (!['pending', 'running'].includes(t.state)) return { state: t.state, msg: t.statuses.at(-1)!.msg, statuses: t.statuses.map((s) => s.msg) };
      assert.ok(Date.now() < deadline, `task ${taskId} not done in 90 s: ${JSON.stringify(t)}`);
    }
  };
  /** The webserver's opt-in as `userId`: its authorize route, the sim's consent page, its callback. */
  const optIn = async (userId: string) => {
    const begin = await fetch(`${api}/auth/member-restore?guild_id=${guildId}`, { redirect: 'manual' });
    assert.equal(begin.status, 302);
    const authorize = new URL(begin.headers.get('location')!);
    assert.equal(authorize.searchParams.get('scope'), 'identify guilds.join');
    authorize.searchParams.set('user_id', userId); // the sim's stand-in for clicking "Authorize" as that user
    const consent = await fetch(authorize, { redirect: 'manual' });
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    const body = (await callback.json()) as { user_id: string; guild_id: string; opted_in: boolean };
    assert.equal(callback.status, 200, JSON.stringify(body));
    assert.deepEqual([body.user_id, body.guild_id, body.opted_in], [userId, guildId, true]);
    cookies[userId] = /member_restore=([^;]+)/.exec(callback.headers.get('set-cookie')!)![1]!;
  };
  const storedTokens = async (userId: string) => {
    const { rows } = await pool.query<{ access_token: Buffer; refresh_token: Buffer }>('select access_token, refresh_token from member_restore_tokens where user_id = $1', [userId]);
    if (!rows[0]) return undefined;
    const cipher = new TokenCipher(TOKEN_KEY);
    return { raw: rows[0], access: cipher.open(userId, 'access_token', rows[0].access_token), refresh: cipher.open(userId, 'refresh_token', rows[0].refresh_token) };
  };
  const introspect = async (token: string) => {
    const res = await fetch(`${simUrl}/_sim/oauth2/introspect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    return res.ok ? ((await res.json()) as { active: boolean; kind: string; user_id: string; scope: string }) : undefined;
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '1', '--max-concurrency', '1', '--identify-interval-ms', '0', '--rest-limit', '1000']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    ({ id: guildId, owner_id: ownerId } = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string }[])[0]!);
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const [jobsPort, apiPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    jobsUrl = `http://127.0.0.1:${jobsPort}`;
    api = `http://127.0.0.1:${apiPort}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'sites.api': api, 'meta.postgres_url': db.url, 'meta.jobserver_port': jobsPort, 'meta.jobserver_url': jobsUrl,
      'meta.port': apiPort, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_member_restore'),
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')), 'proxy.port': proxyPort, 'proxy.session_key_prefix': proxyPrefix,
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
    // The bot behind the proxy, as in production; the jobserver calls Discord's REST itself.
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    web = start(['webserver', '--config', path], {
      env: { SPLASHTAIL__BOT__GATEWAY_URL: `ws://127.0.0.1:${proxyPort}`, SPLASHTAIL__DISCORD_AUTH__API_URL: `http://127.0.0.1:${proxyPort}/api` },
    });
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      const res = await fetch(`${api}/clusters`).then((r) => r.json() as Promise<{ clusters: { state: string }[] }>).catch(() => undefined);
      if (res?.clusters.length && res.clusters.every((c) => c.state === 'up')) break;
      assert.ok(Date.now() < deadline, `clusters not up within 60 s: ${JSON.stringify(res)}`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${proxyPort}/metrics`)).text();
    assert.match(metrics, /^proxy_downstream_sessions(\{[^}]*\})? [1-9]/m, 'the bot is connected through the proxy');
    // The members of the story, and a raider above every role but the owner's reach.
    for (const name of Object.keys(users) as (keyof typeof users)[]) {
      users[name] = (await simPost('/_sim/users', { username: name })).id as string;
      await simPost(`/_sim/guilds/${guildId}/members`, { user_id: users[name] });
    }
    const before = await state();
    const helpers = (await act(ownerId, 'POST', `/guilds/${guildId}/roles`, { name: 'Helpers', permissions: '0' })).id as string;
    await act(ownerId, 'PUT', `/guilds/${guildId}/members/${users.kept}/roles/${helpers}`);
    const raid = (await act(ownerId, 'POST', `/guilds/${guildId}/roles`, { name: 'Raid', permissions: P.Administrator.toString() })).id as string;
    await act(ownerId, 'PATCH', `/guilds/${guildId}/roles`, [{ id: raid, position: 50 }]);
    await act(ownerId, 'PUT', `/guilds/${guildId}/members/${users.raider}/roles/${raid}`);
    // Discord lets the bot add members only with Create Invite: the owner grants it to the bot's role.
    const botRole = before.roles.find((r) => r.managed)!;
    await act(ownerId, 'PATCH', `/guilds/${guildId}/roles/${botRole.id}`, { permissions: (BigInt(botRole.permissions) | P.CreateInstantInvite).toString() });
  });

  after(async () => {
    await web?.stop();
    await jobs?.stop();
    await proxy?.stop();
    await sim?.stop();
    await dropRedisKeys(proxyPrefix);
    const redis = new Redis(REDIS_URL);
    await redis.del(...Object.values(cookies).map((id) => `splashtail:web:member-restore:${id}`), 'splashtail:none');
    await redis.quit();
    await pool?.end();
    await db?.drop();
  });

  it('brings a nuked guild back: channels and roles by a backup restore, the members who opted in by a member restore', async () => {
    backupId = await task('guild_create_backup', { messages_per_channel: 0 });
    assert.equal((await finished(backupId)).state, 'completed');
    await optIn(users.kept);
    await optIn(users.plain);

    // The raid: every channel and role the raider can reach deleted, the members kicked.
    const nuked = await state();
    for (const c of nuked.channels) await act(users.raider, 'DELETE', `/channels/${c.id}`);
    for (const r of nuked.roles.filter((r) => !r.managed && r.id !== guildId && r.name !== 'Raid')) await act(users.raider, 'DELETE', `/guilds/${guildId}/roles/${r.id}`);
    for (const u of [users.kept, users.plain, users.unwilling]) await act(users.raider, 'DELETE', `/guilds/${guildId}/members/${u}`);
    const ruin = await state();
    assert.equal(ruin.channels.length, 0);
    assert.ok(!ruin.roles.some((r) => r.name === 'Helpers'));

    const restoreId = await task('guild_restore_backup', { backup_task_id: backupId });
    assert.equal((await finished(restoreId)).state, 'completed');
    const general = (await state()).channels.find((c) => c.name === 'general')!;
    const { id } = (await simPost('/_sim/interactions', {
      guild_id: guildId, channel_id: general.id, user_id: ownerId, command_name: 'backups',
      options: [{ type: 1, name: 'members', options: [{ type: 3, name: 'backup_id', value: backupId }] }],
    })) as { id: string };
    let reply = '';
    for (const deadline = Date.now() + 60_000; !/\*\*(completed|failed)\*\*/.test(reply); await sleep(200)) {
      reply = ((await (await fetch(`${simUrl}/_sim/interactions/${id}`)).json()) as { original: { content: string } | null }).original?.content ?? '';
      assert.ok(Date.now() < deadline, `no final reply to /backups members: ${reply}`);
    }
    assert.match(reply, /^Member restore `[0-9a-f-]{36}`: \*\*completed\*\*: member restore complete: 2 added\nMembers opt in to be put back at http:\/\/127\.0\.0\.1:\d+\/auth\/member-restore\?guild_id=\d+$/);

    const back = await state();
    const helpers = back.roles.find((r) => r.name === 'Helpers')!;
    assert.ok(helpers, 'the backup restore re-created Helpers');
    assert.deepEqual(back.members.find((m) => m.user.id === users.kept)?.roles, [helpers.id], 'the backed-up role, under its new id');
    assert.deepEqual(back.members.find((m) => m.user.id === users.plain)?.roles, []);
    assert.equal(back.members.some((m) => m.user.id === users.unwilling), false, 'who did not opt in stays out');
    const grant = back.audit_log.find((e) => e.action_type === AuditLogEvent.MemberRoleUpdate && e.target_id === users.kept)!;
    assert.equal(grant.user_id, (await (await fetch(`${simUrl}/api/v10/oauth2/applications/@me`, { headers: { authorization: 'Bot MTAwMDAwMDAwMDAwMDAwMDAwMQ.c2lt.c3BsYXNodGFpbC1zaW0tdG9rZW4tZm9yLWRldmVsb3BtZW50' } })).json() as { id: string }).id);
  });

  it('keeps the tokens encrypted, refreshes them before expiry and when Discord refuses them, and lets a user withdraw', async () => {
    const first = (await storedTokens(users.kept))!;
    assert.ok(!first.raw.access_token.includes(Buffer.from(first.access)) && !first.raw.refresh_token.includes(Buffer.from(first.refresh)), 'ciphertext in Postgres, not the token');
    const live = await introspect(first.access);
    assert.deepEqual([live?.active, live?.user_id, live?.scope], [true, users.kept, 'identify guilds.join'], 'the stored token is the one Discord issued');

    // About to expire: refreshed before use (the old refresh token is spent).
    await pool.query("update member_restore_tokens set expires_at = now() + interval '5 minutes' where user_id = $1", [users.kept]);
    await act(ownerId, 'DELETE', `/guilds/${guildId}/members/${users.kept}`);
    assert.match((await finished(await task('guild_member_restore', {}))).msg, /^member restore complete: 1 added, 1 already in the guild$/);
    const second = (await storedTokens(users.kept))!;
    assert.notEqual(second.access, first.access);
    assert.equal(await introspect(first.refresh), undefined, 'the refresh grant spent the old refresh token');

    // Expired on Discord's side while Postgres thinks it live: refused (50025), refreshed, retried.
    await simPost('/_sim/oauth2/expire', { user_id: users.kept });
    await act(ownerId, 'DELETE', `/guilds/${guildId}/members/${users.kept}`);
    assert.match((await finished(await task('guild_member_restore', {}))).msg, /1 added/);
    assert.ok(await isMember(users.kept));
    assert.notEqual((await storedTokens(users.kept))!.access, second.access);

    // Withdrawn by the user: tokens deleted here and revoked on Discord; not put back any more.
    const plain = (await storedTokens(users.plain))!;
    const me = (await (await fetch(`${api}/auth/member-restore/me`, { headers: { cookie: `member_restore=${cookies[users.plain]}` } })).json()) as { guilds: string[] };
    assert.deepEqual(me.guilds, [guildId]);
    const withdraw = await fetch(`${api}/auth/member-restore?guild_id=${guildId}`, { method: 'DELETE', headers: { cookie: `member_restore=${cookies[users.plain]}` } });
    assert.deepEqual(await withdraw.json(), { user_id: users.plain, removed: 1, guilds: [] });
    assert.equal(await storedTokens(users.plain), undefined);
    assert.equal(await introspect(plain.refresh), undefined, 'revoked on Discord');
    assert.equal((await fetch(`${api}/auth/member-restore/me`, { headers: { cookie: `member_restore=${cookies[users.plain]}` } })).status, 401);
    await act(ownerId, 'DELETE', `/guilds/${guildId}/members/${users.plain}`);

    // Taken back on Discord's side (refresh refused): not added, and forgotten.
    await simPost('/_sim/oauth2/expire', { user_id: users.kept, revoke: true });
    await act(ownerId, 'DELETE', `/guilds/${guildId}/members/${users.kept}`);
    assert.match((await finished(await task('guild_member_restore', {}))).msg, /^member restore complete: 1 without a valid authorization \(they must opt in again\)$/);
    assert.equal(await isMember(users.plain), false);
    assert.equal(await isMember(users.kept), false);
    assert.equal(await storedTokens(users.kept), undefined);
  });

  it('answers bad input with a 4xx naming what is wrong', async () => {
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${api}${path}`, { redirect: 'manual', ...init });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    assert.deepEqual(await get('/auth/member-restore'), { status: 400, error: 'querystring.guild_id is required' });
    const badGuild = await get('/auth/member-restore?guild_id=abc');
    assert.equal(badGuild.status, 400);
    assert.match(badGuild.error, /guild_id/);
    assert.deepEqual(await get('/auth/member-restore/callback?state=x'), { status: 400, error: 'querystring.code is required' });
    assert.deepEqual(await get('/auth/member-restore/callback?code=x&state=forged'), { status: 400, error: 'unknown or expired state; start again at /auth/member-restore?guild_id=<server id>' });
    const begin = await fetch(`${api}/auth/member-restore?guild_id=${guildId}`, { redirect: 'manual' });
    const state = new URL(begin.headers.get('location')!).searchParams.get('state')!;
    assert.deepEqual(await get(`/auth/member-restore/callback?code=bogus&state=${encodeURIComponent(state)}`), { status: 400, error: `Discord refused the code (used already or expired); start again at /auth/member-restore?guild_id=${guildId}` });
    assert.equal((await get('/auth/member-restore', { method: 'DELETE' })).status, 401);
    assert.equal((await get('/auth/member-restore/me', { headers: { cookie: 'member_restore=../../etc' } })).status, 401);

    const create = async (data: unknown) => {
      const res = await fetch(`${jobsUrl}/tasks`, { method: 'POST', headers, body: JSON.stringify({ name: 'guild_member_restore', for: guildId, data }) });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    assert.match((await create({ backup_task_id: 'nope' })).error, /^body\/data\/backup_task_id: /);
    assert.match((await create({ users: [] })).error, /^body\/data\/users: /);
    assert.deepEqual(await create({ backup_task_id: '00000000-0000-4000-8000-000000000000' }), { status: 400, error: 'body/data/backup_task_id must be the id of a completed guild_create_backup task' });
  });
});
