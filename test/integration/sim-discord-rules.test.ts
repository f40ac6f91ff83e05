// Rules of Discord the sim must not relax: exact JSON content type, 50109 for invalid JSON,
// no granting of permissions the actor lacks, interaction deadlines, avatar_url validation.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { PermissionFlagsBits as P } from 'discord-api-types/v10';
import pino from 'pino';
import { DISCORD_INTERACTION_DEADLINES } from '../../internal/sim/rest/context';
import { createSimServer, type SimOptions, type SimServer } from '../../internal/sim/server';
import { DEFAULT_TOKEN } from '../../internal/sim/world';

const sim = (extra: Partial<SimOptions> = {}) =>
  createSimServer({ host: '127.0.0.1', port: 0, guilds: 2, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 9, logger: pino({ level: 'silent' }), rateLimits: { perBucket: 1000, windowMs: 1000, globalPerSecond: 1000 }, ...extra });

interface Answer {
  status: number;
  type: string | null;
  body: { code?: number; message?: string; errors?: Record<string, unknown> } & Record<string, unknown>;
}

function client(server: SimServer) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : {} };
  };
  /** A REST call as a sim user (their permissions), through the control API. */
  const act = (userId: string, method: string, path: string, body?: unknown) => call('POST', '/_sim/act', { user_id: userId, method, path, body });
  return { call, act };
}

const refused = (a: Answer, status: number, code: number, what: string) => {
  assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`);
  assert.equal(a.body.code, code, `${what}: ${JSON.stringify(a.body)}`);
};
const formError = (a: Answer, field: string) => {
  refused(a, 400, 50035, field);
  const node = field.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], a.body.errors) as { _errors?: unknown[] } | undefined;
  assert.ok(node?._errors?.length, `errors.${field} in ${JSON.stringify(a.body.errors)}`);
};

describe('sim: Discord rules', () => {
  let server: SimServer;
  let api: ReturnType<typeof client>;
  let guildId: string;
  let channelId: string;
  before(async () => {
    server = await sim();
    api = client(server);
    guildId = server.world.guildIds()[0]!;
    channelId = [...server.world.guild(guildId)!.channels.values()].find((c) => c.type === 0)!.id;
  });
  after(() => server.close());

  it('answers every JSON response, errors included, with content-type application/json exactly', async () => {
    const roleId = ((await api.call('POST', `/api/v10/guilds/${guildId}/roles`, { name: 'gone' })).body.id as string);
    const answers: [string, Answer][] = [
      ['200', await api.call('GET', `/api/v10/guilds/${guildId}`)],
      ['201', await api.call('POST', `/api/v10/guilds/${guildId}/channels`, { name: 'typed' })],
      ['400 form', await api.call('POST', `/api/v10/guilds/${guildId}/channels`, { name: 5 })],
      ['400 json', await api.call('POST', `/api/v10/guilds/${guildId}/channels`, '{oops')],
      ['401', await api.call('GET', `/api/v10/guilds/${guildId}`, undefined, { authorization: 'Bot wrong' })],
      ['403', await api.call('POST', `/api/v10/guilds/${guildId}/roles`, { permissions: String(P.Administrator) })],
      ['404 entity', await api.call('GET', '/api/v10/channels/1')],
      ['404 route', await api.call('GET', '/api/v10/nowhere')],
      ['gateway', await api.call('GET', '/api/v10/gateway/bot')],
    ];
    for (const [what, a] of answers) assert.equal(a.type, 'application/json', what);
    // A 204 has no body and no content type.
    const deleted = await api.call('DELETE', `/api/v10/guilds/${guildId}/roles/${roleId}`);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.type, null);
    const typing = await api.act(server.world.guild(guildId)!.guild.owner_id, 'POST', `/channels/${channelId}/typing`);
    assert.deepEqual([typing.status, typing.type], [204, null], 'a 204 through /_sim/act');

    const limited = await sim({ rateLimits: { perBucket: 1, windowMs: 60_000, globalPerSecond: 1000 } });
    try {
      const first = await client(limited).call('GET', '/api/v10/users/@me');
      const second = await client(limited).call('GET', '/api/v10/users/@me');
      assert.equal(first.type, 'application/json');
      assert.equal(second.status, 429);
      assert.equal(second.type, 'application/json');
    } finally {
      await limited.close();
    }
  });

  it('answers a malformed JSON body with 400, code 50109', async () => {
    for (const raw of ['{oops', '{"name": "x",}', '[1, 2']) {
      const a = await api.call('POST', `/api/v10/guilds/${guildId}/channels`, raw);
      refused(a, 400, 50109, raw);
      assert.equal(a.body.message, 'The request body contains invalid JSON.');
    }
  });

  describe('permissions an actor does not hold cannot be granted (50013)', () => {
    // The generated bot role has Manage Roles/Channels and moderation permissions, not Administrator
    // or Mention Everyone.
    const notHeld = String(P.MentionEveryone);
    let ownerId: string;
    let roleBelowBot: string;
    before(() => {
      const g = server.world.guild(guildId)!;
      ownerId = g.guild.owner_id;
      roleBelowBot = [...g.roles.values()].find((r) => r.name === 'Member')!.id;
    });

    it('roles: create and edit with a permission the bot lacks are refused; held ones pass', async () => {
      refused(await api.call('POST', `/api/v10/guilds/${guildId}/roles`, { name: 'admin', permissions: String(P.Administrator) }), 403, 50013, 'create Administrator');
      refused(await api.call('POST', `/api/v10/guilds/${guildId}/roles`, { name: 'pinger', permissions: String(P.KickMembers | P.MentionEveryone) }), 403, 50013, 'create with Mention Everyone');
      refused(await api.call('PATCH', `/api/v10/guilds/${guildId}/roles/${roleBelowBot}`, { permissions: String(P.Administrator) }), 403, 50013, 'edit to Administrator');
      const held = await api.call('POST', `/api/v10/guilds/${guildId}/roles`, { name: 'mods', permissions: String(P.KickMembers | P.BanMembers | P.ManageMessages) });
      assert.equal(held.status, 200, JSON.stringify(held.body));
      assert.equal((await api.call('PATCH', `/api/v10/guilds/${guildId}/roles/${held.body.id as string}`, { name: 'moderators', permissions: String(P.KickMembers) })).status, 200);
      const roles = [...server.world.guild(guildId)!.roles.values()];
      assert.ok(!roles.some((r) => r.name === 'admin' || r.name === 'pinger'));
      assert.equal(server.world.guild(guildId)!.roles.get(roleBelowBot)!.permissions, '0');
    });

    it('the owner and an Administrator may grant anything', async () => {
      const byOwner = await api.act(ownerId, 'POST', `/guilds/${guildId}/roles`, { name: 'owner-made', permissions: String(P.Administrator | P.MentionEveryone) });
      assert.equal(byOwner.status, 200, JSON.stringify(byOwner.body));
      const g = server.world.guild(guildId)!;
      const admin = [...g.members.values()].find((m) => m.user.id !== ownerId && !m.user.bot)!;
      admin.roles = [...g.roles.values()].filter((r) => r.name === 'Admin').map((r) => r.id);
      const rules = [...g.channels.values()].find((c) => 'name' in c && c.name === 'rules')!;
      const byAdmin = await api.act(admin.user.id, 'PUT', `/channels/${rules.id}/permissions/${roleBelowBot}`, { type: 0, allow: notHeld });
      assert.equal(byAdmin.status, 204, JSON.stringify(byAdmin.body));
    });

    it('overwrites: channel create, channel edit and PUT with a permission the bot lacks are refused', async () => {
      const overwrite = { id: roleBelowBot, type: 0, allow: notHeld };
      refused(await api.call('POST', `/api/v10/guilds/${guildId}/channels`, { name: 'leaky', permission_overwrites: [overwrite] }), 403, 50013, 'create');
      refused(await api.call('PATCH', `/api/v10/channels/${channelId}`, { permission_overwrites: [overwrite] }), 403, 50013, 'edit');
      refused(await api.call('PUT', `/api/v10/channels/${channelId}/permissions/${roleBelowBot}`, { type: 0, deny: notHeld }), 403, 50013, 'PUT deny');
      // Manage Roles itself only an administrator may put in an overwrite.
      refused(await api.call('PUT', `/api/v10/channels/${channelId}/permissions/${roleBelowBot}`, { type: 0, allow: String(P.ManageRoles) }), 403, 50013, 'PUT Manage Roles');
      assert.ok(![...server.world.guild(guildId)!.channels.values()].some((c) => 'name' in c && c.name === 'leaky'));
      // Held permissions are fine.
      const ok = await api.call('POST', `/api/v10/guilds/${guildId}/channels`, { name: 'private', permission_overwrites: [{ id: guildId, type: 0, deny: String(P.ViewChannel) }, { id: roleBelowBot, type: 0, allow: String(P.ViewChannel | P.SendMessages) }] });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.equal((await api.call('PUT', `/api/v10/channels/${channelId}/permissions/${roleBelowBot}`, { type: 0, deny: String(P.SendMessages) })).status, 204);
    });

    it('overwrites: a Manage Roles overwrite for the bot in the channel lifts the limit', async () => {
      const botId = server.world.botUser.id;
      const g = server.world.guild(guildId)!;
      const channel = [...g.channels.values()].find((c) => 'name' in c && c.name === 'off-topic')!;
      assert.equal((await api.act(ownerId, 'PUT', `/channels/${channel.id}/permissions/${botId}`, { type: 1, allow: String(P.ManageRoles) })).status, 204);
      const a = await api.call('PUT', `/api/v10/channels/${channel.id}/permissions/${roleBelowBot}`, { type: 0, allow: notHeld });
      assert.equal(a.status, 204, JSON.stringify(a.body));
    });
  });

  describe('interactions', () => {
    const create = async (target: SimServer) => {
      const g = target.world.guild(target.world.guildIds()[0]!)!;
      const channel = [...g.channels.values()].find((c) => c.type === 0)!;
      const res = await fetch(`${target.url}/_sim/interactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ guild_id: g.guild.id, channel_id: channel.id, command_name: 'ping' }) });
      return (await res.json()) as { id: string; token: string };
    };
    const appId = () => server.world.application.id;

    it('a first response after 3 s is 10062 Unknown interaction, and the token is then invalid', async () => {
      const late = await create(server);
      await sleep(3_300);
      refused(await api.call('POST', `/api/v10/interactions/${late.id}/${late.token}/callback`, { type: 4, data: { content: 'late' } }), 404, 10062, 'late callback');
      refused(await api.call('POST', `/api/v10/webhooks/${appId()}/${late.token}`, { content: 'followup' }), 401, 50027, 'followup of an expired interaction');
    });

    it('within 3 s: the response, then followups and edits with the token', async () => {
      const i = await create(server);
      assert.equal((await api.call('POST', `/api/v10/interactions/${i.id}/${i.token}/callback`, { type: 5 })).status, 204);
      assert.equal((await api.call('PATCH', `/api/v10/webhooks/${appId()}/${i.token}/messages/@original`, { content: 'done' })).status, 200);
      assert.equal((await api.call('POST', `/api/v10/webhooks/${appId()}/${i.token}`, { content: 'more' })).status, 200);
    });

    it('the token expires (15 minutes on Discord): followups and edits get 401 50027', async () => {
      const short = await sim({ interactionDeadlines: { tokenMs: 1_500 } });
      try {
        const shortApi = client(short);
        const i = await create(short);
        assert.equal((await shortApi.call('POST', `/api/v10/interactions/${i.id}/${i.token}/callback`, { type: 5 })).status, 204);
        await sleep(1_800);
        refused(await shortApi.call('POST', `/api/v10/webhooks/${short.world.application.id}/${i.token}`, { content: 'too late' }), 401, 50027, 'followup');
        refused(await shortApi.call('PATCH', `/api/v10/webhooks/${short.world.application.id}/${i.token}/messages/@original`, { content: 'too late' }), 401, 50027, 'edit');
      } finally {
        await short.close();
      }
    });

    it('Discord\'s deadlines are the default: 3 s to respond, 15 minutes of token', () => {
      assert.deepEqual(DISCORD_INTERACTION_DEADLINES, { responseMs: 3_000, tokenMs: 15 * 60_000 });
    });
  });

  it('webhook avatar_url must be an http(s) URL (50035 naming it)', async () => {
    const hook = await api.call('POST', `/api/v10/channels/${channelId}/webhooks`, { name: 'restorer' });
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
    const execute = (avatar_url: string) => api.call('POST', `/api/v10/webhooks/${hook.body.id as string}/${hook.body.token as string}?wait=true`, { content: 'hi', username: 'ada', avatar_url });
    formError(await execute('0123456789abcdef0123456789abcdef'), 'avatar_url');
    formError(await execute('ftp://example.com/a.png'), 'avatar_url');
    formError(await execute('javascript:alert(1)'), 'avatar_url');
    const ok = await execute('https://cdn.discordapp.com/avatars/1/0123456789abcdef0123456789abcdef.png');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('embeds are held to the Embed Structure: limits and types, 50035 naming the field', async () => {
    const post = (embeds: unknown) => api.call('POST', `/api/v10/channels/${channelId}/messages`, { embeds });
    formError(await post([{ title: 'x'.repeat(257) }]), 'embeds.0.title');
    formError(await post([{ color: 'red' }]), 'embeds.0.color');
    formError(await post([{ fields: [{ name: 'n' }] }]), 'embeds.0.fields.0.value');
    const ok = await post([{ title: 'Backup done', color: 0x2ecc71, fields: [{ name: 'channels', value: '9', inline: true }], footer: { text: 'splashtail' } }]);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual((ok.body.embeds as { fields: unknown[] }[])[0]!.fields, [{ name: 'channels', value: '9', inline: true }]);
  });

  it('overwrites on a thread are refused with 50024, not a 500', async () => {
    const thread = await api.act(server.world.guild(guildId)!.guild.owner_id, 'POST', `/channels/${channelId}/threads`, { name: 'talk', type: 11 });
    assert.equal(thread.status, 201, JSON.stringify(thread.body));
    const roleId = [...server.world.guild(guildId)!.roles.values()].find((r) => r.name === 'Member')!.id;
    refused(await api.call('PUT', `/api/v10/channels/${thread.body.id as string}/permissions/${roleId}`, { type: 0, allow: '1024' }), 400, 50024, 'PUT');
    refused(await api.call('DELETE', `/api/v10/channels/${thread.body.id as string}/permissions/${roleId}`), 400, 50024, 'DELETE');
  });
});
