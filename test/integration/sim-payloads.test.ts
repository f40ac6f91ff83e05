// The sim's payloads carry every field discord-api-docs lists for them (not only what
// discord-api-types requires): roles with `colors`, channels with `flags`, per-type fields.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import { type APIChannel, type APIGuildMember, type APIRole, Routes } from 'discord-api-types/v10';
import pino from 'pino';
import { createSimServer, type SimServer } from '../../internal/sim/server';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { loadWorld } from '../../internal/sim/world-file';

/** Fields every object of a kind has, from the structure tables of discord-api-docs. */
const ROLE = ['id', 'name', 'color', 'colors', 'hoist', 'icon', 'unicode_emoji', 'position', 'permissions', 'managed', 'mentionable', 'flags'];
const CHANNEL = ['id', 'type', 'guild_id', 'name', 'position', 'permission_overwrites', 'nsfw', 'flags', 'parent_id'];
const BY_TYPE: Record<number, string[]> = {
  0: ['topic', 'rate_limit_per_user', 'last_message_id'],
  5: ['topic', 'rate_limit_per_user', 'last_message_id'],
  2: ['bitrate', 'user_limit', 'rtc_region', 'rate_limit_per_user'],
  13: ['bitrate', 'user_limit', 'rtc_region', 'rate_limit_per_user'],
  15: ['topic', 'available_tags', 'default_reaction_emoji', 'default_sort_order', 'default_forum_layout'],
};
const MEMBER = ['user', 'nick', 'avatar', 'roles', 'joined_at', 'premium_since', 'deaf', 'mute', 'flags', 'pending', 'communication_disabled_until'];

const missing = (o: object, keys: string[]) => keys.filter((k) => !(k in o));

describe('sim payloads are complete', () => {
  let server: SimServer;
  let rest: REST;
  let guildId: string;

  before(async () => {
    server = await createSimServer({ host: '127.0.0.1', port: 0, guilds: 1, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 5, logger: pino({ level: 'silent' }) });
    rest = new REST({ api: `${server.url}/api` }).setToken(DEFAULT_TOKEN);
    guildId = server.world.guildIds()[0]!;
  });
  after(() => server.close());

  it('roles: every field, colors.primary_color = color, over REST and in GUILD_CREATE', async () => {
    const created = (await rest.post(Routes.guildRoles(guildId), { body: { name: 'coloured', colors: { primary_color: 0x123456 } } })) as APIRole;
    assert.deepEqual(created.colors, { primary_color: 0x123456, secondary_color: null, tertiary_color: null });
    assert.equal(created.color, 0x123456);
    const edited = (await rest.patch(Routes.guildRole(guildId, created.id), { body: { color: 0x00ff00 } })) as APIRole;
    assert.deepEqual(edited.colors, { primary_color: 0x00ff00, secondary_color: null, tertiary_color: null });
    const roles = [...((await rest.get(Routes.guildRoles(guildId))) as APIRole[]), ...server.world.guildCreate(guildId)!.roles];
    for (const role of roles) {
      assert.deepEqual(missing(role, ROLE), [], role.name);
      assert.equal(role.colors.primary_color, role.color, role.name);
    }
  });

  it('roles: gradient colors need ENHANCED_ROLE_COLORS (50035 naming the field)', async () => {
    const res = await fetch(`${server.url}/api/v10/guilds/${guildId}/roles`, {
      method: 'POST', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'gradient', colors: { primary_color: 1, secondary_color: 2 } }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: number; errors: { colors?: { secondary_color?: { _errors: unknown[] } } } };
    assert.equal(body.code, 50035);
    assert.ok(body.errors.colors?.secondary_color?._errors.length);
  });

  it('channels: the common fields and those of their type, generated and created', async () => {
    for (const type of [0, 2, 4, 5, 13, 15]) await rest.post(Routes.guildChannels(guildId), { body: { name: `made-${type}`, type } });
    const channels = (await rest.get(Routes.guildChannels(guildId))) as APIChannel[];
    assert.ok(channels.length >= 14);
    for (const channel of channels) assert.deepEqual(missing(channel, [...CHANNEL, ...(BY_TYPE[channel.type] ?? [])]), [], `${channel.id} (type ${channel.type})`);
  });

  it('a --world file role without colors gets them from its color', () => {
    const world = loadWorld({
      users: [{ id: '10', username: 'owner', discriminator: '0', global_name: null, avatar: null }],
      guilds: [{ id: '20', name: 'Hand made', owner_id: '10', roles: [{ id: '30', name: 'red', color: 0xff0000, hoist: false, position: 1, permissions: '0', managed: false, mentionable: false, flags: 0 as never }] }],
    });
    const role = world.guildCreate('20')!.roles.find((r) => r.id === '30')!;
    assert.deepEqual(role.colors, { primary_color: 0xff0000, secondary_color: null, tertiary_color: null });
  });

  it('webhooks, the application and the current user\'s guilds: every field', async () => {
    const channel = ((await rest.get(Routes.guildChannels(guildId))) as APIChannel[]).find((c) => c.type === 0)!;
    const webhook = (await rest.post(Routes.channelWebhooks(channel.id), { body: { name: 'hook' } })) as object;
    assert.deepEqual(missing(webhook, ['id', 'type', 'guild_id', 'channel_id', 'user', 'name', 'avatar', 'token', 'application_id']), []);
    const application = (await rest.get(Routes.currentApplication())) as object;
    assert.deepEqual(missing(application, ['id', 'name', 'icon', 'description', 'bot_public', 'bot_require_code_grant', 'verify_key', 'team', 'flags', 'flags_new']), []);
    for (const guild of (await rest.get(Routes.userGuilds())) as object[]) assert.deepEqual(missing(guild, ['id', 'name', 'icon', 'banner', 'owner', 'permissions', 'features']), []);
  });

  it('members: every field', async () => {
    const members = (await rest.get(`${Routes.guildMembers(guildId)}?limit=1000`)) as APIGuildMember[];
    assert.ok(members.length > 2);
    for (const member of members) assert.deepEqual(missing(member, MEMBER), [], member.user.id);
  });
});
