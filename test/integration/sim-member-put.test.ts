// The sim's Add Guild Member (PUT /guilds/:g/members/:u) and the OAuth2 it rests on, held to
// discord-api-docs: guilds.join tokens of the user, 201 then 204, the bot's permissions per field,
// bans, the refresh_token grant and revocation; through @discordjs/rest as a bot would call it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiscordAPIError, REST } from '@discordjs/rest';
import { type APIGuildMember, AuditLogEvent, PermissionFlagsBits as P, Routes } from 'discord-api-types/v10';
import pino from 'pino';
import { createSimServer, type SimServer } from '../../internal/sim/server';
import { DEFAULT_APP_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN } from '../../internal/sim/world';

const REDIRECT = 'http://127.0.0.1:9/callback';

describe('sim: Add Guild Member with an OAuth2 access token', () => {
  let server: SimServer;
  let rest: REST;
  let guildId: string;
  let botRoleId: string;
  const dispatched: string[] = [];

  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const tokenRequest = (form: Record<string, string>) =>
    fetch(`${server.url}/api/v10/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: DEFAULT_APP_ID, client_secret: DEFAULT_CLIENT_SECRET, ...form }) });
  /** A user's tokens through the authorization code flow, as the webserver gets them. */
  const authorize = async (userId: string, scope: string) => {
    const page = await fetch(`${server.url}/api/oauth2/authorize?${new URLSearchParams({ client_id: DEFAULT_APP_ID, redirect_uri: REDIRECT, response_type: 'code', scope, user_id: userId })}`, { redirect: 'manual' });
    const code = new URL(page.headers.get('location')!).searchParams.get('code')!;
    const res = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal(res.status, 200);
    return (await res.json()) as { access_token: string; refresh_token: string; scope: string; expires_in: number };
  };
  const newUser = async (name: string) => ((await control('/_sim/users', { username: name })).body as { id: string }).id;
  const put = (userId: string, body: Record<string, unknown>) => rest.put(Routes.guildMember(guildId, userId), { body });
  const rejects = (p: Promise<unknown>, status: number, code: number) => assert.rejects(p, (e: DiscordAPIError) => (e.status === status && e.code === code) || assert.fail(`${e.status} ${e.code} ${e.message}`));
  const setBotPermissions = (bits: bigint) => {
    server.world.guild(guildId)!.roles.get(botRoleId)!.permissions = bits.toString();
  };

  before(async () => {
    server = await createSimServer({ host: '127.0.0.1', port: 0, guilds: 1, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 5, logger: pino({ level: 'silent' }) });
    rest = new REST({ api: `${server.url}/api` }).setToken(DEFAULT_TOKEN);
    guildId = server.world.guildIds()[0]!;
    botRoleId = [...server.world.guild(guildId)!.roles.values()].find((r) => r.managed)!.id;
    server.world.on('dispatch', (d) => {
      if (d.t === 'GUILD_MEMBER_ADD') dispatched.push((d.d as { user: { id: string } }).user.id);
    });
  });
  after(() => server.close());

  it('adds the user with 201 and the member, then answers 204; one GUILD_MEMBER_ADD, a role audit entry by the bot', async () => {
    setBotPermissions(P.CreateInstantInvite | P.ManageRoles);
    const userId = await newUser('rejoiner');
    const role = [...server.world.guild(guildId)!.roles.values()].find((r) => r.name === 'Member')!;
    const { access_token } = await authorize(userId, 'identify guilds.join');
    const member = (await put(userId, { access_token, roles: [role.id] })) as APIGuildMember;
    assert.equal(member.user?.id, userId);
    assert.deepEqual(member.roles, [role.id]);
    const again = await fetch(`${server.url}/api/v10/guilds/${guildId}/members/${userId}`, { method: 'PUT', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ access_token }) });
    assert.equal(again.status, 204);
    assert.deepEqual(dispatched.filter((id) => id === userId), [userId]);
    const entry = server.world.guild(guildId)!.audit.find((e) => e.target_id === userId)!;
    assert.equal(entry.action_type, AuditLogEvent.MemberRoleUpdate);
    assert.equal(entry.user_id, server.world.botUser.id);
    assert.deepEqual(entry.changes, [{ key: '$add', new_value: [{ id: role.id, name: 'Member' }] }]);
  });

  it('refuses a token without guilds.join, of another user, expired or revoked (403 50025)', async () => {
    setBotPermissions(P.CreateInstantInvite);
    const [a, b] = [await newUser('alice'), await newUser('bobby')];
    const identifyOnly = await authorize(a, 'identify');
    await rejects(put(a, { access_token: identifyOnly.access_token }), 403, 50025);
    const bobs = await authorize(b, 'identify guilds.join');
    await rejects(put(a, { access_token: bobs.access_token }), 403, 50025);
    await rejects(put(a, { access_token: 'not-a-token' }), 403, 50025);
    const alices = await authorize(a, 'identify guilds.join');
    assert.equal((await control('/_sim/oauth2/expire', { user_id: a })).body.expired, 2);
    await rejects(put(a, { access_token: alices.access_token }), 403, 50025);
    // The refresh_token grant gives a live token (and a new refresh token; the old one is spent).
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: alices.refresh_token });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string; scope: string };
    assert.equal(next.scope, 'identify guilds.join');
    assert.equal((await tokenRequest({ grant_type: 'refresh_token', refresh_token: alices.refresh_token })).status, 400);
    // Revoking the refresh token revokes the access token issued with it.
    const revoke = await fetch(`${server.url}/api/v10/oauth2/token/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: DEFAULT_APP_ID, client_secret: DEFAULT_CLIENT_SECRET, token: next.refresh_token }) });
    assert.equal(revoke.status, 200);
    await rejects(put(a, { access_token: next.access_token }), 403, 50025);
    assert.equal(server.world.guild(guildId)!.members.has(a), false);
  });

  it('needs the bot in the guild with Create Invite, and a permission per field (50013)', async () => {
    const userId = await newUser('fielded');
    const { access_token } = await authorize(userId, 'identify guilds.join');
    setBotPermissions(0n);
    await rejects(put(userId, { access_token }), 403, 50013);
    setBotPermissions(P.CreateInstantInvite);
    const role = [...server.world.guild(guildId)!.roles.values()].find((r) => r.name === 'Member')!;
    await rejects(put(userId, { access_token, roles: [role.id] }), 403, 50013);
    await rejects(put(userId, { access_token, nick: 'nick' }), 403, 50013);
    await rejects(put(userId, { access_token, mute: true }), 403, 50013);
    await rejects(put(userId, { access_token, deaf: true }), 403, 50013);
    // A role above the bot's highest is refused even with Manage Roles.
    setBotPermissions(P.CreateInstantInvite | P.ManageRoles | P.ManageNicknames | P.MuteMembers | P.DeafenMembers);
    const admin = [...server.world.guild(guildId)!.roles.values()].find((r) => r.name === 'Admin')!;
    admin.position = 10;
    await rejects(put(userId, { access_token, roles: [admin.id] }), 403, 50013);
    await rejects(put(userId, { access_token, roles: ['123'] }), 404, 10011);
    const member = (await put(userId, { access_token, nick: 'back', mute: true, deaf: false })) as APIGuildMember;
    assert.deepEqual([member.nick, member.mute, member.deaf], ['back', true, false]);
    const entry = server.world.guild(guildId)!.audit.find((e) => e.target_id === userId)!;
    assert.equal(entry.action_type, AuditLogEvent.MemberUpdate);
    assert.equal(server.world.guild(guildId)!.members.has(userId), true);
  });

  it('refuses a banned user (40007), a bearer caller (401) and a bad body (50035 naming the field)', async () => {
    setBotPermissions(P.CreateInstantInvite | P.BanMembers);
    const userId = await newUser('banned');
    const { access_token } = await authorize(userId, 'identify guilds.join');
    await rest.put(Routes.guildBan(guildId, userId));
    await rejects(put(userId, { access_token }), 403, 40007);
    const asUser = await fetch(`${server.url}/api/v10/guilds/${guildId}/members/${userId}`, { method: 'PUT', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ access_token }) });
    assert.equal(asUser.status, 401);
    for (const [body, field] of [[{}, 'access_token'], [{ access_token: 5 }, 'access_token'], [{ access_token, roles: 'x' }, 'roles'], [{ access_token, mute: 'yes' }, 'mute']] as const) {
      const res = await fetch(`${server.url}/api/v10/guilds/${guildId}/members/${userId}`, { method: 'PUT', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = (await res.json()) as { code: number; errors: Record<string, unknown> };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(answer.code, 50035);
      assert.ok(field in answer.errors, `${JSON.stringify(answer)} names ${field}`);
    }
    const scope = await fetch(`${server.url}/api/oauth2/authorize?${new URLSearchParams({ client_id: DEFAULT_APP_ID, redirect_uri: REDIRECT, response_type: 'code', scope: 'identify guilds.everything', user_id: userId })}`, { redirect: 'manual' });
    assert.equal(scope.status, 400);
    assert.equal(((await scope.json()) as { error: string }).error, 'invalid_scope');
  });
});
