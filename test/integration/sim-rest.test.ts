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

  it('answers a malformed body with 50035 naming the field', async () => {
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
    assert.equal(((await broken.json()) as { code: number }).code, 50035);
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

  it('generates the same world from the same seed', () => {
    const a = generateWorld({ seed: 11, guilds: 4 });
    const b = generateWorld({ seed: 11, guilds: 4 });
    const c = generateWorld({ seed: 12, guilds: 4 });
    const shape = (w: typeof a) => JSON.stringify(w.guildIds().map((id) => w.guildCreate(id)));
    assert.equal(shape(a), shape(b));
    assert.notEqual(shape(a), shape(c));
  });
});
