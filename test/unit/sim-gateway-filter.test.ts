// What a sim session sees of a dispatch (pure functions): routing, intents and their
// exceptions, MESSAGE_CONTENT blanking, and GUILD_CREATE trimmed by intents and large_threshold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import { EVENT_INTENTS, GatewayIntentBits as I, shardFor } from '../../internal/gateway/protocol';
import type { SimDispatch } from '../../internal/sim/contract';
import { payloadFor, routesTo } from '../../internal/sim/gateway-filter';
import { guildCreateFor } from '../../internal/gateway/guild-create';

const BOT = '900';
const guildId = '175928847299117063';
const event = (t: string, d: Record<string, unknown>, guild: string | undefined = guildId): SimDispatch => ({ t: t as SimDispatch['t'], d, guildId: guild, intents: EVENT_INTENTS[t] });

describe('sim gateway filter', () => {
  it('routes by shard and intents; DMs go to shard 0', () => {
    const shard = shardFor(guildId, 4);
    const msg = event('MESSAGE_CREATE', { guild_id: guildId, content: 'x' });
    assert.equal(routesTo(msg, { shardId: shard, shardCount: 4, intents: I.GuildMessages }, BOT), true);
    assert.equal(routesTo(msg, { shardId: (shard + 1) % 4, shardCount: 4, intents: I.GuildMessages }, BOT), false);
    assert.equal(routesTo(msg, { shardId: shard, shardCount: 4, intents: I.Guilds }, BOT), false);
    const dm = event('MESSAGE_CREATE', { content: 'x' }, undefined);
    assert.equal(routesTo(dm, { shardId: 0, shardCount: 4, intents: I.DirectMessages }, BOT), true);
    assert.equal(routesTo(dm, { shardId: 1, shardCount: 4, intents: I.DirectMessages }, BOT), false);
    const passthrough = event('INTERACTION_CREATE', {});
    assert.equal(routesTo(passthrough, { shardId: shard, shardCount: 4, intents: 0 }, BOT), true);
  });

  it('sends the bot its own GUILD_MEMBER_UPDATE without GUILD_MEMBERS', () => {
    const viewer = { shardId: 0, shardCount: 1, intents: I.Guilds };
    assert.equal(routesTo(event('GUILD_MEMBER_UPDATE', { user: { id: BOT } }), viewer, BOT), true);
    assert.equal(routesTo(event('GUILD_MEMBER_UPDATE', { user: { id: '1' } }), viewer, BOT), false);
    assert.equal(routesTo(event('GUILD_MEMBER_ADD', { user: { id: BOT } }), viewer, BOT), false);
  });

  it('blanks message content without MESSAGE_CONTENT unless by/mentioning the bot or in a DM', () => {
    const viewer = { shardId: 0, shardCount: 1, intents: I.GuildMessages };
    const d = { guild_id: guildId, author: { id: '1' }, mentions: [], content: 'secret', embeds: [{}], attachments: [{}], components: [{}], poll: {} };
    assert.deepEqual(payloadFor(event('MESSAGE_CREATE', d), viewer, BOT), { guild_id: guildId, author: { id: '1' }, mentions: [], content: '', embeds: [], attachments: [], components: [] });
    assert.equal((payloadFor(event('MESSAGE_UPDATE', d), viewer, BOT) as { content: string }).content, '');
    assert.equal((payloadFor(event('MESSAGE_CREATE', { ...d, mentions: [{ id: BOT }] }), viewer, BOT) as { content: string }).content, 'secret');
    assert.equal((payloadFor(event('MESSAGE_CREATE', { ...d, author: { id: BOT } }), viewer, BOT) as { content: string }).content, 'secret');
    assert.equal((payloadFor(event('MESSAGE_CREATE', { ...d, guild_id: undefined }, undefined), viewer, BOT) as { content: string }).content, 'secret');
    assert.equal((payloadFor(event('MESSAGE_CREATE', d), { ...viewer, intents: I.GuildMessages | I.MessageContent }, BOT) as { content: string }).content, 'secret');
  });
});

describe('GUILD_CREATE for a session', () => {
  const members = Array.from({ length: 60 }, (_, i) => ({ user: { id: String(i) } }));
  const guild = {
    id: guildId, member_count: 61, large: false,
    members: [...members, { user: { id: BOT } }],
    presences: [{ user: { id: '1' }, status: 'online' }, { user: { id: '2' }, status: 'offline' }, { user: { id: '3' }, status: 'dnd' }],
    voice_states: [{ user_id: '5' }],
  } as unknown as GatewayGuildCreateDispatchData;
  const ids = (g: GatewayGuildCreateDispatchData) => g.members.map((m) => m.user!.id);

  it('without GUILD_MEMBERS: only the bot and members in voice; no presences without GUILD_PRESENCES', () => {
    const g = guildCreateFor(guild, { intents: I.Guilds, largeThreshold: 250 }, BOT);
    assert.deepEqual(ids(g), ['5', BOT]);
    assert.deepEqual(g.presences, []);
  });

  it('above large_threshold: large, offline members left out', () => {
    const small = guildCreateFor(guild, { intents: I.Guilds | I.GuildMembers | I.GuildPresences, largeThreshold: 250 }, BOT);
    assert.deepEqual([small.large, small.members.length, small.presences.length], [false, 61, 3]);
    const large = guildCreateFor(guild, { intents: I.Guilds | I.GuildMembers | I.GuildPresences, largeThreshold: 50 }, BOT);
    assert.equal(large.large, true);
    assert.deepEqual(ids(large), ['1', '3', BOT]);
  });
});
