// guild_member_restore under kill -9: a jobserver killed in the middle of putting members back
// (REST slowed to 3 requests a second per bucket), another takes the task over from its
// checkpoint, and a second run finds everyone back. Counted on the sim's side: every opted-in member is back, each given their role by
// the bot exactly once (one MEMBER_ROLE_UPDATE entry per member), and the task completes once.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLogEvent, PermissionFlagsBits as P } from 'discord-api-types/v10';
import pg from 'pg';
import { DiscordOAuth } from '../../internal/member-restore/discord-oauth';
import { TokenCipher } from '../../internal/member-restore/token-cipher';
import { MemberRestoreStore } from '../../internal/member-restore/token-store';
import { DEFAULT_APP_ID, DEFAULT_CLIENT_SECRET } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const TOKEN_KEY = 'dev-oauth-token-key-change-me-0123456789abcdef';
const MEMBERS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Task = { state: string; statuses: { msg: string; worker?: string }[] };
type State = { roles: { id: string; name: string; managed?: boolean; permissions: string }[]; members: { user: { id: string }; roles: string[] }[]; audit_log: { action_type: number; user_id: string; target_id: string }[] };

describe('guild_member_restore taken over after kill -9', () => {
  let sim: Running;
  let simUrl: string;
  let guildId: string;
  let ownerId: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let objects: string;
  let api = '';
  const processes: Running[] = [];
  const headers = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown, init: Record<string, string> = { 'content-type': 'application/json' }) => {
    for (const deadline = Date.now() + 30_000; ; await sleep(350)) {
      const res = await fetch(url, { method: 'POST', headers: init, body: JSON.stringify(body) });
      const text = await res.text();
      // Setup shares the slowed REST with nothing else: wait out a 429 like a client would.
      if (res.status === 429 && Date.now() < deadline) continue;
      assert.ok(res.ok, `${url}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    }
  };
  const act = (userId: string, method: string, path: string, body?: unknown) => post(`${simUrl}/_sim/act`, { user_id: userId, method, path, body });
  const state = async () => (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as State;
  const startJobs = async () => {
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': objects, 'jobs.lease_seconds': 5, 'jobs.rest_timeout_seconds': 3,
    });
    const p = start(['jobs', '--config', path]);
    processes.push(p);
    await p.waitFor(/jobserver listening/);
    return p;
  };
  const task = async (id: string) => (await (await fetch(`${api}/tasks/${id}`, { headers })).json()) as Task;
  const until = async (id: string, done: (t: Task) => boolean, what: string) => {
    for (const deadline = Date.now() + 120_000; ; await sleep(150)) {
      const t = await task(id);
      if (done(t)) return t;
      assert.ok(Date.now() < deadline, `task ${id}: no ${what} in 120 s: ${JSON.stringify(t.statuses)}`);
    }
  };
  const ended = (t: Task) => !['pending', 'running'].includes(t.state);
  let users: string[] = [];
  let roleId = '';
  let backupId = '';

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '1', '--shards', '1', '--rest-limit', '3', '--seed', '13']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    ({ id: guildId, owner_id: ownerId } = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string }[])[0]!);
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    objects = mkdtempSync(join(tmpdir(), 'st-objects-'));
    const first = await startJobs(); // also migrates the database

    const botRole = (await state()).roles.find((r) => r.managed)!;
    await act(ownerId, 'PATCH', `/guilds/${guildId}/roles/${botRole.id}`, { permissions: (BigInt(botRole.permissions) | P.CreateInstantInvite).toString() });
    roleId = (await act(ownerId, 'POST', `/guilds/${guildId}/roles`, { name: 'Regulars', permissions: '0' })).id as string;
    const store = new MemberRestoreStore(pool, new TokenCipher(TOKEN_KEY), new DiscordOAuth({ api: `${simUrl}/api`, clientId: DEFAULT_APP_ID, clientSecret: DEFAULT_CLIENT_SECRET }));
    const redirect = 'http://127.0.0.1:9/auth/member-restore/callback';
    for (let i = 0; i < MEMBERS; i++) {
      const id = (await post(`${simUrl}/_sim/users`, { username: `regular${i}` })).id as string;
      await post(`${simUrl}/_sim/guilds/${guildId}/members`, { user_id: id });
      await act(ownerId, 'PUT', `/guilds/${guildId}/members/${id}/roles/${roleId}`);
      // The user authorizes through the sim's OAuth2 (as the webserver's callback would store it).
      let consent: Response;
      do consent = await fetch(`${simUrl}/api/oauth2/authorize?${new URLSearchParams({ client_id: DEFAULT_APP_ID, redirect_uri: redirect, response_type: 'code', scope: 'identify guilds.join', user_id: id })}`, { redirect: 'manual' });
      while (consent.status === 429 && (await sleep(350), true));
      const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
      const grant = await new DiscordOAuth({ api: `${simUrl}/api`, clientId: DEFAULT_APP_ID, clientSecret: DEFAULT_CLIENT_SECRET }).exchange(code, redirect);
      await store.optIn(id, guildId, grant);
      users.push(id);
    }
    users = users.sort();
    backupId = (await post(`${api}/tasks`, { name: 'guild_create_backup', for: guildId, data: { backup_messages: false } }, headers)).task_id as string;
    assert.equal((await until(backupId, ended, 'backup')).state, 'completed');
    await first.stop();
    for (const id of users) await act(ownerId, 'DELETE', `/guilds/${guildId}/members/${id}`);
  });

  after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await sim?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('adds every opted-in member once, with their role, across the take-over', async () => {
    const a = await startJobs();
    const id = (await post(`${api}/tasks`, { name: 'guild_member_restore', for: guildId, data: { backup_task_id: backupId } }, headers)).task_id as string;
    for (const deadline = Date.now() + 60_000; ; await sleep(50)) {
      const back = (await state()).members.filter((m) => users.includes(m.user.id)).length;
      if (back >= 3) break;
      assert.ok(back < MEMBERS && Date.now() < deadline, `the first jobserver added ${back} before the kill point`);
    }
    await a.stop('SIGKILL');
    const b = await startJobs();
    const done = await until(id, ended, 'completion');
    assert.equal(done.state, 'completed', JSON.stringify(done.statuses));
    assert.ok(done.statuses.some((s) => /taken over/.test(s.msg) && s.worker === `${hostname()}:${b.child.pid}`), 'the second jobserver took it over');
    assert.equal(done.statuses.filter((s) => /^member restore complete/.test(s.msg)).length, 1);

    const s = await state();
    for (const user of users) {
      assert.deepEqual(s.members.find((m) => m.user.id === user)?.roles, [roleId], `${user} is back with their role`);
      const grants = s.audit_log.filter((e) => e.action_type === AuditLogEvent.MemberRoleUpdate && e.target_id === user && e.user_id !== ownerId);
      assert.equal(grants.length, 1, `${user} added once`);
    }

    // A run that finds everyone back (what a take-over with a checkpoint older than its last adds
    // meets) adds nobody again.
    const again = (await post(`${api}/tasks`, { name: 'guild_member_restore', for: guildId, data: { backup_task_id: backupId } }, headers)).task_id as string;
    assert.equal((await until(again, ended, 'the second run')).statuses.at(-1)!.msg, `member restore complete: ${MEMBERS} already in the guild`);
    const after = await state();
    for (const user of users) assert.equal(after.audit_log.filter((e) => e.action_type === AuditLogEvent.MemberRoleUpdate && e.target_id === user && e.user_id !== ownerId).length, 1, `${user} not added again`);
  });
});
