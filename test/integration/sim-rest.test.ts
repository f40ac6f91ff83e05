// The sim's REST API held to Discord's behaviour: error shapes, permissions, rate limits, OAuth2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import pino from 'pino';
import { generateWorld } from '../../internal/sim/generate';
import { createSimServer, type SimServer } from '../../internal/sim/server';
import { DEFAULT_APP_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN } from '../../internal/sim/world';

const silent = pino({ level: 'silent' });

async function sim(extra: Partial<Parameters<typeof createSimServer>[0]> = {}): Promise<SimServer> {
  return createSimServer({ host: '127.0.0.1', port: 0, guilds: 3, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 3, logger: silent, ...extra });
}

describe('sim REST', () => {
  let server: SimServer;
  let rest: REST;
  let guildId: string;
  const control = (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  before(async () => {
    server = await sim();
    rest = new REST({ api: `${server.url}/api` }).setToken(DEFAULT_TOKEN);
    guildId = server.world.guildIds()[0]!;
  });
  after(() => server.close());

  it('answers unknown entities with Discord codes', async () => {
    await assert.rejects(rest.get(Routes.channel('1')), (e: DiscordAPIError) => e.status === 404 && e.code === 10003);
    await assert.rejects(rest.get(Routes.guild('1')), (e: DiscordAPIError) => e.code === 10004);
    await assert.rejects(rest.delete(Routes.guildRole(guildId, '1')), (e: DiscordAPIError) => e.code === 10011);
  });

  it('answers a wrong field with 50035 naming it, invalid JSON with 50109', async () => {
    const res = await fetch(`${server.url}/api/v10/guilds/${guildId}/channels`, {
      method: 'POST', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 5 }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: number; errors: { name: { _errors: { message: string }[] } } };
    assert.equal(body.code, 50035);
    assert.ok(body.errors.name._errors[0]!.message);
    const broken = await fetch(`${server.url}/api/v10/guilds/${guildId}/channels`, {
      method: 'POST', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' }, body: '{oops',
    });
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { code: number }).code, 50109);
  });

  it('computes permissions like Discord: the bot is refused above its role and in hidden channels', async () => {
    const g = server.world.guild(guildId)!;
    const admin = [...g.roles.values()].find((r) => r.name === 'Admin')!;
    // The generated bot role sits above Admin; move Admin above it and the bot may no longer edit it.
    await rest.patch(Routes.guildRole(guildId, admin.id), { body: { name: 'Admins' } });
    admin.position = 10;
    await assert.rejects(rest.patch(Routes.guildRole(guildId, admin.id), { body: { name: 'x' } }), (e: DiscordAPIError) => e.status === 403 && e.code === 50013);
    // A channel that denies the bot's role View Channel is Missing Access.
    const botRole = [...g.roles.values()].find((r) => r.managed)!;
    const hidden = (await rest.post(Routes.guildChannels(guildId), {
      body: { name: 'hidden', permission_overwrites: [{ id: botRole.id, type: 0, deny: '1024' }] },
    })) as { id: string };
    await assert.rejects(rest.get(Routes.channelMessages(hidden.id)), (e: DiscordAPIError) => e.code === 50001);
  });

  it('lets a sim user act only within their permissions (a raider without Manage Channels)', async () => {
    const g = server.world.guild(guildId)!;
    const plain = [...g.members.values()].find((m) => !m.user.bot && m.roles.length === 0 && m.user.id !== g.guild.owner_id)!;
    const denied = await control('/_sim/act', { user_id: plain.user.id, method: 'POST', path: `/guilds/${guildId}/channels`, body: { name: 'raid' } });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { code: number }).code, 50013);
    const owner = await control('/_sim/act', { user_id: g.guild.owner_id, method: 'POST', path: `/guilds/${guildId}/channels`, body: { name: 'raid' } });
    assert.equal(owner.status, 201);
    const audit = (await rest.get(Routes.guildAuditLog(guildId))) as { audit_log_entries: { action_type: number; user_id: string }[] };
    assert.equal(audit.audit_log_entries[0]!.action_type, 10);
    assert.equal(audit.audit_log_entries[0]!.user_id, g.guild.owner_id);
  });

  it('sends rate-limit headers and a 429 that @discordjs/rest waits out', async () => {
    const limited = await sim({ rateLimits: { perBucket: 2, windowMs: 500, globalPerSecond: 1000 } });
    try {
      const channel = [...limited.world.guild(limited.world.guildIds()[0]!)!.channels.values()].find((c) => c.type === 0)!;
      const url = `${limited.url}/api/v10/channels/${channel.id}/messages?limit=1`;
      const headers = { authorization: `Bot ${DEFAULT_TOKEN}` };
      const first = await fetch(url, { headers });
      assert.equal(first.headers.get('x-ratelimit-limit'), '2');
      assert.equal(first.headers.get('x-ratelimit-remaining'), '1');
      assert.ok(first.headers.get('x-ratelimit-bucket'));
      await fetch(url, { headers });
      const third = await fetch(url, { headers });
      assert.equal(third.status, 429);
      const body = (await third.json()) as { retry_after: number; global: boolean };
      assert.equal(body.global, false);
      assert.ok(body.retry_after > 0);
      const client = new REST({ api: `${limited.url}/api`, retries: 0 }).setToken(DEFAULT_TOKEN);
      let limitedEvents = 0;
      client.on('rateLimited', () => limitedEvents++);
      const started = Date.now();
      for (let i = 0; i < 5; i++) await client.get(Routes.channelMessages(channel.id), { query: new URLSearchParams({ limit: '1' }) });
      assert.ok(Date.now() - started >= 500, 'the limiter waited for the bucket to reset');
      assert.ok(limitedEvents >= 1);
    } finally {
      await limited.close();
    }
  });

  it('runs the OAuth2 code flow for the webserver login', async () => {
    const g = server.world.guild(guildId)!;
    const userId = g.guild.owner_id;
    const redirect = 'http://127.0.0.1:9/callback';
    const authorize = await fetch(`${server.url}/api/oauth2/authorize?${new URLSearchParams({ client_id: DEFAULT_APP_ID, redirect_uri: redirect, response_type: 'code', scope: 'identify guilds', state: 'xyz', user_id: userId })}`, { redirect: 'manual' });
    assert.equal(authorize.status, 302);
    const location = new URL(authorize.headers.get('location')!);
    assert.equal(location.searchParams.get('state'), 'xyz');
    const token = await fetch(`${server.url}/api/v10/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEFAULT_APP_ID, client_secret: DEFAULT_CLIENT_SECRET, grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: redirect }),
    });
    assert.equal(token.status, 200);
    const { access_token } = (await token.json()) as { access_token: string };
    const me = (await (await fetch(`${server.url}/api/v10/users/@me`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as { id: string };
    assert.equal(me.id, userId);
    const guilds = (await (await fetch(`${server.url}/api/v10/users/@me/guilds`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as { id: string; owner: boolean }[];
    assert.ok(guilds.some((x) => x.id === guildId && x.owner));
    const wrong = await fetch(`${server.url}/api/v10/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: DEFAULT_APP_ID, client_secret: 'nope', grant_type: 'authorization_code', code: 'x' }) });
    assert.equal(wrong.status, 401);
  });

  it('bulk-overwrites application commands', async () => {
    await rest.put(Routes.applicationCommands(DEFAULT_APP_ID), { body: [{ name: 'ping', description: 'Ping' }, { name: 'help', description: 'Help' }] });
    await rest.put(Routes.applicationCommands(DEFAULT_APP_ID), { body: [{ name: 'ping', description: 'Pong' }] });
    const commands = (await (await control('/_sim/commands')).json()) as { global: { name: string; description: string }[] };
    assert.deepEqual(commands.global.map((c) => [c.name, c.description]), [['ping', 'Pong']]);
  });

  describe('refuses what Discord refuses (50035 naming the field), never 500', () => {
    type FormError = { code: number; errors: Record<string, unknown> };
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.url}/api/v10${path}`, {
        method, headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as FormError };
    };
    /** 400, code 50035, and `errors` reaches `field` (a dotted path) with an _errors list. */
    const refused = (r: { status: number; body: FormError }, field: string) => {
      assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 50035);
      const node = field.split('.').filter(Boolean).reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], r.body.errors) as { _errors?: unknown[] } | undefined;
      assert.ok(node?._errors?.length, `errors.${field} in ${JSON.stringify(r.body.errors)}`);
    };
    let channelId: string;
    let roleId: string;
    let memberId: string;
    before(() => {
      const g = server.world.guild(guildId)!;
      channelId = [...g.channels.values()].find((c) => c.type === 0)!.id;
      roleId = [...g.roles.values()].find((r) => !r.managed && r.id !== guildId && r.name !== 'Admin' && r.name !== 'Admins')!.id;
      memberId = [...g.members.values()].find((m) => !m.user.bot && m.user.id !== g.guild.owner_id && m.roles.length === 0)!.user.id;
    });

    it('permission overwrites: allow "-1", {}, null entries, a wrong type', async () => {
      for (const [allow, label] of [['-1', 'negative'], [{}, 'object'], ['1.5', 'fraction'], [-1, 'number']] as const) {
        refused(await call('POST', `/guilds/${guildId}/channels`, { name: `c-${label}`, permission_overwrites: [{ id: roleId, type: 0, allow }] }), 'permission_overwrites.0.allow');
        refused(await call('PATCH', `/channels/${channelId}`, { permission_overwrites: [{ id: roleId, type: 0, allow }] }), 'permission_overwrites.0.allow');
        refused(await call('PUT', `/channels/${channelId}/permissions/${roleId}`, { type: 0, allow }), 'allow');
      }
      refused(await call('PATCH', `/channels/${channelId}`, { permission_overwrites: [null] }), 'permission_overwrites.0');
      refused(await call('PATCH', `/channels/${channelId}`, { permission_overwrites: [{ id: roleId, type: 2 }] }), 'permission_overwrites.0.type');
      const stored = server.world.guild(guildId)!.channels.get(channelId) as { permission_overwrites: { allow: string; deny: string }[] };
      for (const o of stored.permission_overwrites) assert.match(`${o.allow}|${o.deny}`, /^\d+\|\d+$/);
    });

    it('positions bodies with null entries or bad ids', async () => {
      refused(await call('PATCH', `/guilds/${guildId}/channels`, [null]), '0');
      refused(await call('PATCH', `/guilds/${guildId}/roles`, [null]), '0');
      refused(await call('PATCH', `/guilds/${guildId}/roles`, [{ id: 'abc', position: 1 }]), '0.id');
      refused(await call('PATCH', `/guilds/${guildId}/channels`, [{ id: channelId, position: 'x' }]), '0.position');
    });

    it('wrong types are refused, not stored as sent: nsfw "yes", color {}, icon 5, nick 5', async () => {
      refused(await call('PATCH', `/channels/${channelId}`, { nsfw: 'yes' }), 'nsfw');
      refused(await call('PATCH', `/guilds/${guildId}/roles/${roleId}`, { color: {} }), 'color');
      refused(await call('POST', `/guilds/${guildId}/roles`, { color: 'red' }), 'color');
      refused(await call('PATCH', `/guilds/${guildId}`, { icon: 5 }), 'icon');
      refused(await call('PATCH', `/guilds/${guildId}/members/${memberId}`, { nick: 5 }), 'nick');
      refused(await call('PATCH', `/guilds/${guildId}/members/${memberId}`, { roles: 'abc' }), 'roles');
      refused(await call('POST', `/channels/${channelId}/messages/bulk-delete`, { messages: ['1', 'x'] }), 'messages.1');
      const g = server.world.guild(guildId)!;
      assert.equal(typeof (g.channels.get(channelId) as { nsfw: unknown }).nsfw, 'boolean');
      assert.equal(typeof g.roles.get(roleId)!.color, 'number');
      assert.notEqual(g.guild.icon as unknown, 5);
    });

    it('a 50,000-deep body is refused and the audit log and state keep answering', async () => {
      const deep = '['.repeat(50_000) + ']'.repeat(50_000);
      // Refused before parsing (deeper than any Discord payload), whether under a known key or not.
      refused(await call('PATCH', `/guilds/${guildId}/members/${memberId}`, `{"nick":${deep}}`), '');
      refused(await call('PATCH', `/guilds/${guildId}/members/${memberId}`, `{"nick":"deep","extra":${deep}}`), '');
      refused(await call('POST', `/channels/${channelId}/messages`, `{"content":"x","embeds":[{"fields":${deep}}]}`), '');
      assert.equal((await call('GET', `/guilds/${guildId}/audit-logs`)).status, 200);
      assert.equal((await fetch(`${server.url}/_sim/guilds/${guildId}/state`)).status, 200);
    });

    it('queries: before/after/around must be snowflakes, limit an integer in range', async () => {
      for (const [query, field] of <[string, string][]>[['before=abc', 'before'], ['after=1.5', 'after'], ['around=%00', 'around'], ['limit=0', 'limit'], ['limit=-Infinity', 'limit'], ['limit=1e400', 'limit'], ['limit=101', 'limit']]) {
        refused(await call('GET', `/channels/${channelId}/messages?${query}`), field);
      }
      refused(await call('GET', `/guilds/${guildId}/members?after=abc`), 'after');
      refused(await call('GET', `/guilds/${guildId}/members?limit=-Infinity`), 'limit');
      refused(await call('GET', `/guilds/${guildId}/audit-logs?limit=-Infinity`), 'limit');
      refused(await call('GET', `/guilds/${guildId}/audit-logs?before=x`), 'before');
      refused(await call('GET', `/guilds/${guildId}/members/search`), 'query');
      assert.equal((await call('GET', `/channels/${channelId}/messages?limit=5&before=99999999999999999999`)).status, 200);
    });

    it('X-Audit-Log-Reason that is not valid percent-encoding is kept as sent', async () => {
      const r = await call('PATCH', `/guilds/${guildId}/roles/${roleId}`, { name: 'reasoned' }, { 'x-audit-log-reason': '%' });
      assert.equal(r.status, 200);
      const audit = await call('GET', `/guilds/${guildId}/audit-logs?limit=1`);
      assert.equal((audit.body as unknown as { audit_log_entries: { reason?: string }[] }).audit_log_entries[0]!.reason, '%');
    });
  });

  it('generates the same world from the same seed', () => {
    const a = generateWorld({ seed: 11, guilds: 4 });
    const b = generateWorld({ seed: 11, guilds: 4 });
    const c = generateWorld({ seed: 12, guilds: 4 });
    const shape = (w: typeof a) => JSON.stringify(w.guildIds().map((id) => w.guildCreate(id)));
    assert.equal(shape(a), shape(b));
    assert.notEqual(shape(a), shape(c));
  });
});
