// The sim's emoji, sticker, thread, scheduled event and stage instance routes, held to Discord:
// permission checks (50013), error codes, the gateway events each change sends, audit-log
// entries, and what GUILD_CREATE then carries; voice and presence through the control API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLogEvent } from 'discord-api-types/v10';
import pino from 'pino';
import type { SimDispatch } from '../../internal/sim/contract';
import { createSimServer, type SimServer } from '../../internal/sim/server';

describe('sim guild entities', () => {
  let server: SimServer;
  let guildId: string;
  let ownerId: string;
  let memberId: string;
  let channel: (name: string) => string;
  const events: SimDispatch[] = [];

  /** A REST call as a user (the owner has every permission; a plain member has few). */
  const act = async (userId: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, method, path, body }) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const sent = (t: string) => events.filter((e) => e.t === t).at(-1)?.d as Record<string, unknown> | undefined;
  const audited = (action: AuditLogEvent, target: string) => server.world.guild(guildId)!.audit.some((e) => e.action_type === action && e.target_id === target);
  const guildCreate = () => server.world.guildCreate(guildId)!;

  before(async () => {
    server = await createSimServer({ host: '127.0.0.1', port: 0, guilds: 1, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 9, logger: pino({ level: 'silent' }) });
    server.world.on('dispatch', (e) => events.push(e));
    const g = server.world.guild(server.world.guildIds()[0]!)!;
    guildId = g.guild.id;
    ownerId = g.guild.owner_id;
    memberId = [...g.members.values()].find((m) => !m.user.bot && m.user.id !== ownerId && m.roles.length === 0)!.user.id;
    channel = (name) => [...g.channels.values()].find((c) => 'name' in c && c.name === name)!.id;
  });
  after(() => server.close());

  it('emojis: create, rename, delete with GUILD_EMOJIS_UPDATE and audit entries; members without the permission get 50013', async () => {
    const image = 'data:image/png;base64,iVBORw0KGgo=';
    assert.equal((await act(memberId, 'POST', `/guilds/${guildId}/emojis`, { name: 'nope', image })).body.code, 50013);
    const bad = await act(ownerId, 'POST', `/guilds/${guildId}/emojis`, { name: 'a b', image });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.name);
    const created = await act(ownerId, 'POST', `/guilds/${guildId}/emojis`, { name: 'party', image });
    assert.equal(created.status, 201);
    assert.deepEqual((sent('GUILD_EMOJIS_UPDATE')!.emojis as { id: string }[]).map((e) => e.id), [created.body.id]);
    assert.ok(audited(AuditLogEvent.EmojiCreate, created.body.id));
    assert.equal((await act(ownerId, 'PATCH', `/guilds/${guildId}/emojis/${created.body.id}`, { name: 'party2' })).body.name, 'party2');
    assert.equal(guildCreate().emojis[0]!.name, 'party2');
    assert.equal((await act(ownerId, 'DELETE', `/guilds/${guildId}/emojis/${created.body.id}`)).status, 204);
    assert.deepEqual(sent('GUILD_EMOJIS_UPDATE')!.emojis, []);
    assert.equal((await act(ownerId, 'GET', `/guilds/${guildId}/emojis/${created.body.id}`)).body.code, 10014);
  });

  it('stickers: created through the control API, edited and deleted over REST with GUILD_STICKERS_UPDATE', async () => {
    const created = await control(`/_sim/guilds/${guildId}/stickers`, { name: 'wave', tags: 'hello' });
    assert.equal(created.status, 201);
    assert.equal((sent('GUILD_STICKERS_UPDATE')!.stickers as unknown[]).length, 1);
    assert.equal((await act(memberId, 'PATCH', `/guilds/${guildId}/stickers/${created.body.id}`, { name: 'x1' })).body.code, 50013);
    assert.equal((await act(ownerId, 'PATCH', `/guilds/${guildId}/stickers/${created.body.id}`, { tags: 'bye' })).body.tags, 'bye');
    assert.ok(audited(AuditLogEvent.StickerUpdate, created.body.id));
    assert.equal((await act(ownerId, 'DELETE', `/guilds/${guildId}/stickers/${created.body.id}`)).status, 204);
    assert.equal((await act(ownerId, 'GET', `/guilds/${guildId}/stickers/${created.body.id}`)).body.code, 10060);
  });

  it('threads: start, join, archive (leaves GUILD_CREATE), delete, with THREAD_* events', async () => {
    const general = channel('general');
    assert.equal((await act(ownerId, 'POST', `/channels/${channel('Voice Channels')}/threads`, { name: 't' })).body.code, 50024);
    const created = await act(ownerId, 'POST', `/channels/${general}/threads`, { name: 'plans' });
    assert.equal(created.status, 201);
    assert.equal(created.body.type, 11);
    assert.equal(sent('THREAD_CREATE')!.newly_created, true);
    assert.ok(guildCreate().threads.some((t) => t.id === created.body.id));
    assert.equal((await act(memberId, 'PUT', `/channels/${created.body.id}/thread-members/@me`)).status, 204);
    assert.equal(sent('THREAD_MEMBERS_UPDATE')!.member_count, 2);
    assert.equal((await act(memberId, 'PATCH', `/channels/${created.body.id}`, { locked: true })).body.code, 50013);
    const archived = await act(ownerId, 'PATCH', `/channels/${created.body.id}`, { archived: true });
    assert.equal(archived.body.thread_metadata.archived, true);
    assert.equal((sent('THREAD_UPDATE')!.thread_metadata as { archived: boolean }).archived, true);
    assert.ok(!guildCreate().threads.some((t) => t.id === created.body.id));
    assert.equal((await act(ownerId, 'DELETE', `/channels/${created.body.id}`)).status, 200);
    assert.deepEqual(sent('THREAD_DELETE'), { id: created.body.id, guild_id: guildId, parent_id: general, type: 11 });
    assert.ok(audited(AuditLogEvent.ThreadDelete, created.body.id));
  });

  it('scheduled events: validated create, status moves, delete, with GUILD_SCHEDULED_EVENT_* events', async () => {
    const path = `/guilds/${guildId}/scheduled-events`;
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const noEnd = await act(ownerId, 'POST', path, { name: 'meetup', privacy_level: 2, scheduled_start_time: start, entity_type: 3, entity_metadata: { location: 'park' } });
    assert.ok(noEnd.body.errors.scheduled_end_time);
    assert.equal((await act(memberId, 'POST', path, { name: 'x', privacy_level: 2, scheduled_start_time: start, entity_type: 2, channel_id: channel('General') })).body.code, 50013);
    const created = await act(ownerId, 'POST', path, { name: 'voice chat', privacy_level: 2, scheduled_start_time: start, entity_type: 2, channel_id: channel('General') });
    assert.equal(created.status, 201);
    assert.equal(sent('GUILD_SCHEDULED_EVENT_CREATE')!.id, created.body.id);
    assert.ok(guildCreate().guild_scheduled_events.some((e) => e.id === created.body.id));
    assert.ok((await act(ownerId, 'PATCH', `${path}/${created.body.id}`, { status: 3 })).body.errors.status);
    assert.equal((await act(ownerId, 'PATCH', `${path}/${created.body.id}`, { status: 2 })).body.status, 2);
    assert.equal((await fetch(`${server.url}/_sim/guilds/${guildId}/scheduled-events/${created.body.id}/users/${memberId}`, { method: 'PUT' })).status, 204);
    assert.equal(sent('GUILD_SCHEDULED_EVENT_USER_ADD')!.user_id, memberId);
    assert.equal((await act(ownerId, 'GET', `${path}/${created.body.id}?with_user_count=true`)).body.user_count, 1);
    assert.equal((await act(ownerId, 'DELETE', `${path}/${created.body.id}`)).status, 204);
    assert.equal((await act(ownerId, 'GET', `${path}/${created.body.id}`)).body.code, 10070);
    assert.ok(audited(AuditLogEvent.GuildScheduledEventDelete, created.body.id));
  });

  it('stage instances: only on a stage, one at a time, moderators only, with STAGE_INSTANCE_* events', async () => {
    const stage = channel('Stage');
    assert.equal((await act(ownerId, 'POST', '/stage-instances', { channel_id: channel('General'), topic: 'x' })).body.code, 50024);
    assert.equal((await act(memberId, 'POST', '/stage-instances', { channel_id: stage, topic: 'x' })).body.code, 50013);
    const created = await act(ownerId, 'POST', '/stage-instances', { channel_id: stage, topic: 'Town hall' });
    assert.equal(created.status, 200);
    assert.equal(sent('STAGE_INSTANCE_CREATE')!.id, created.body.id);
    assert.equal((await act(ownerId, 'POST', '/stage-instances', { channel_id: stage, topic: 'again' })).body.code, 150006);
    assert.equal((await act(ownerId, 'PATCH', `/stage-instances/${stage}`, { topic: 'AMA' })).body.topic, 'AMA');
    assert.equal(guildCreate().stage_instances[0]!.topic, 'AMA');
    assert.equal((await act(ownerId, 'DELETE', `/stage-instances/${stage}`)).status, 204);
    assert.equal((await act(ownerId, 'GET', `/stage-instances/${stage}`)).body.code, 10067);
    assert.ok(audited(AuditLogEvent.StageInstanceDelete, created.body.id));
  });

  it('voice and presence through the control API reach VOICE_STATE_UPDATE, PRESENCE_UPDATE and GUILD_CREATE', async () => {
    assert.ok((await control(`/_sim/guilds/${guildId}/voice`, { user_id: memberId, channel_id: channel('general') })).body.errors.channel_id);
    assert.equal((await control(`/_sim/guilds/${guildId}/voice`, { user_id: memberId, channel_id: channel('General'), self_mute: true })).status, 204);
    const voice = sent('VOICE_STATE_UPDATE')!;
    assert.equal(voice.guild_id, guildId);
    assert.equal((voice.member as { user: { id: string } }).user.id, memberId);
    assert.equal(guildCreate().voice_states.find((v) => v.user_id === memberId)?.self_mute, true);
    await control(`/_sim/guilds/${guildId}/voice`, { user_id: memberId, channel_id: null });
    assert.ok(!guildCreate().voice_states.some((v) => v.user_id === memberId));

    assert.ok((await control(`/_sim/guilds/${guildId}/presences`, { user_id: memberId, status: 'away' })).body.errors.status);
    await control(`/_sim/guilds/${guildId}/presences`, { user_id: memberId, status: 'dnd' });
    assert.equal(guildCreate().presences.find((p) => p.user.id === memberId)?.status, 'dnd');
    await control(`/_sim/guilds/${guildId}/presences`, { user_id: memberId, status: 'offline' });
    assert.equal(sent('PRESENCE_UPDATE')!.status, 'offline');
    assert.ok(!guildCreate().presences.some((p) => p.user.id === memberId));
  });
});
