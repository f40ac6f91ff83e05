// The proxy's guild state, in process: fed the sim's dispatches (as JSON, like the wire), it
// holds the guilds the sim holds; persisted per entity to a real Redis it comes back whole in a
// fresh process; and a write that Redis refuses is retried until it lands.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  type APISoundboardSound,
  ChannelType,
  type GatewayDispatchPayload,
  type GatewayGuildSoundboardSoundDeleteDispatchData,
  type GatewayGuildSoundboardSoundsUpdateDispatchData,
  type GatewayThreadListSyncDispatchData,
} from 'discord-api-types/v10';
import type { SessionInfo } from '@discordjs/ws';
import { Redis } from 'ioredis';
import pino from 'pino';
import { guildCreateFor } from '../../internal/gateway/guild-create';
import { GatewayIntentBits } from '../../internal/gateway/protocol';
import { generateWorld } from '../../internal/sim/generate';
import { createThread } from '../../internal/sim/guild-entities';
import { runLoad } from '../../internal/sim/load-generator';
import { prng } from '../../internal/sim/snowflake';
import type { SimWorld } from '../../internal/sim/world';
import { unpack } from '../../proxy/entity-codec';
import { GuildState } from '../../proxy/guild-state';
import { GuildStore } from '../../proxy/guild-store';
import { freePort } from '../helpers/ports';

const silent = pino({ level: 'silent' });
const ALL = 3276799;
const INTENTS = [ALL, ALL & ~(GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences), GatewayIntentBits.Guilds];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wire = (t: string, d: unknown) => JSON.parse(JSON.stringify({ t, d })) as GatewayDispatchPayload;

/** A world whose dispatches all reach `state` on shard 0, after READY and the GUILD_CREATEs. */
function connect(seed: number): { world: SimWorld; state: GuildState } {
  const world = generateWorld({ seed, guilds: 3 });
  const state = new GuildState();
  state.apply(0, wire('READY', { v: 10, user: world.botUser, guilds: world.guildIds().map((id) => ({ id, unavailable: true })), session_id: 's', resume_gateway_url: 'ws://x', shard: [0, 1], application: world.application }));
  for (const id of world.guildIds()) state.apply(0, wire('GUILD_CREATE', world.guildCreate(id)));
  world.on('dispatch', (e) => state.apply(0, wire(e.t, e.d)));
  return { world, state };
}

/** Lists sorted by id: order is not part of the contract. */
function sorted(guild: unknown): unknown {
  const key = (e: Record<string, unknown>) => String(e.id ?? e.user_id ?? (e.user as { id?: string } | undefined)?.id);
  return Object.fromEntries(Object.entries(guild as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort((a, b) => key(a).localeCompare(key(b))) : v]));
}

function assertSame(world: SimWorld, state: GuildState): void {
  for (const id of world.guildIds()) {
    for (const intents of INTENTS) {
      const want = guildCreateFor(JSON.parse(JSON.stringify(world.guildCreate(id))), { intents, largeThreshold: 50 }, world.botUser.id);
      assert.deepStrictEqual(sorted(state.guildCreateFor(0, id, intents)), sorted(want), `guild ${id}, intents ${intents}`);
    }
  }
}

describe('proxy guild state and store', () => {
  let redisServer: ChildProcess;
  let redis: Redis;

  before(async () => {
    // A private Redis: the retry test makes it refuse writes.
    const port = await freePort();
    redisServer = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    for (let i = 0; ; i++) {
      try {
        await redis.connect();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(50);
      }
    }
  });

  /** What a restarted proxy loads. */
  const restore = async (prefix: string) => {
    const state = new GuildState();
    const store = new GuildStore(redis, prefix, state, silent);
    await store.load([0]);
    await store.close();
    return state;
  };

  after(async () => {
    redis.disconnect();
    redisServer.kill('SIGKILL');
  });

  it('holds the same guilds as the sim after 5,000 mixed events, for each intent set', () => {
    const { world, state } = connect(21);
    runLoad(world, 5000, prng(5));
    assertSame(world, state);
  });

  it('ignores malformed dispatches without throwing or losing what it holds', () => {
    const { world, state } = connect(24);
    const guild_id = world.guildIds()[0]!;
    const odd = [
      wire('GUILD_MEMBER_UPDATE', { guild_id }), wire('GUILD_MEMBER_REMOVE', { guild_id }), wire('PRESENCE_UPDATE', { guild_id, status: 'offline' }),
      wire('PRESENCE_UPDATE', { guild_id, status: 'online' }), wire('THREAD_LIST_SYNC', { guild_id }), wire('VOICE_STATE_UPDATE', { guild_id, channel_id: '1' }),
      wire('GUILD_ROLE_CREATE', { guild_id, role: {} }), wire('CHANNEL_CREATE', { guild_id }), wire('GUILD_EMOJIS_UPDATE', { guild_id, emojis: 'x' }),
      wire('GUILD_CREATE', { id: '42', channels: 'x', members: 7 }), wire('GUILD_UPDATE', { id: guild_id, roles: null }),
      // A poison READY must neither throw nor empty the shard (bots would be served no guilds).
      wire('READY', {}), wire('READY', { user: world.botUser, session_id: 't', guilds: 'x' }), wire('READY', { user: null, session_id: 't', guilds: [] }),
      wire('READY', { user: world.botUser, guilds: [] }),
    ];
    for (const payload of odd) assert.doesNotThrow(() => state.apply(0, payload), payload.t);
    assertSame(world, state);
    assert.equal(state.readyOf(0)?.session_id, 's', 'the last good READY is kept');
    // A READY whose guild list holds junk keeps its good entries.
    state.apply(0, wire('READY', { ...state.readyOf(0), session_id: 'u', guilds: [null, {}, { id: guild_id, unavailable: true }] }));
    assert.deepEqual(state.guildIds(0), [guild_id]);
  });

  // The sim sends neither (no channel-access changes, no soundboard), so the differential test
  // cannot cover them; here they are built as discord-api-docs describes them.
  it('applies THREAD_LIST_SYNC (per parent channel or whole guild) and the soundboard events', () => {
    const { world, state } = connect(27);
    const g = world.guild(world.guildIds()[0]!)!;
    const owner = g.guild.owner_id;
    const [a, b] = [...g.channels.values()].filter((c) => c.type === ChannelType.GuildText);
    const [t1, t2, t3] = [a!, a!, b!].map((parent, i) => createThread(world, g, owner, parent.id, `t${i}`, ChannelType.PublicThread));
    const threadIds = () => ((state.guildCreate(0, g.guild.id)!.threads as { id: string }[]).map((t) => t.id)).sort();
    assert.deepEqual(threadIds(), [t1!.id, t2!.id, t3!.id].sort());
    // Access to `a` came back: its active threads are the ones listed (t1 was archived meanwhile).
    const perChannel: GatewayThreadListSyncDispatchData = { guild_id: g.guild.id, channel_ids: [a!.id], threads: [{ ...t2!, name: 'renamed' }], members: [] };
    state.apply(0, wire('THREAD_LIST_SYNC', perChannel));
    assert.deepEqual(threadIds(), [t2!.id, t3!.id].sort());
    assert.equal((state.guildCreate(0, g.guild.id)!.threads as { id: string; name: string }[]).find((t) => t.id === t2!.id)!.name, 'renamed');
    // Without channel_ids the whole guild's threads are synced.
    const whole: GatewayThreadListSyncDispatchData = { guild_id: g.guild.id, threads: [t1!], members: [] };
    state.apply(0, wire('THREAD_LIST_SYNC', whole));
    assert.deepEqual(threadIds(), [t1!.id]);

    const sound = (sound_id: string, name: string): APISoundboardSound => ({ sound_id, name, volume: 1, emoji_id: null, emoji_name: null, guild_id: g.guild.id, available: true, user: world.botUser });
    const sounds = () => (state.guildCreate(0, g.guild.id)!.soundboard_sounds as APISoundboardSound[]).map((x) => `${x.sound_id}:${x.name}`).sort();
    state.apply(0, wire('GUILD_SOUNDBOARD_SOUND_CREATE', sound('11', 'a')));
    state.apply(0, wire('GUILD_SOUNDBOARD_SOUND_CREATE', sound('12', 'b')));
    state.apply(0, wire('GUILD_SOUNDBOARD_SOUND_UPDATE', sound('11', 'a2')));
    assert.deepEqual(sounds(), ['11:a2', '12:b']);
    const deleted: GatewayGuildSoundboardSoundDeleteDispatchData = { sound_id: '12', guild_id: g.guild.id };
    state.apply(0, wire('GUILD_SOUNDBOARD_SOUND_DELETE', deleted));
    assert.deepEqual(sounds(), ['11:a2']);
    const all: GatewayGuildSoundboardSoundsUpdateDispatchData = { guild_id: g.guild.id, soundboard_sounds: [sound('13', 'c'), sound('14', 'd')] };
    state.apply(0, wire('GUILD_SOUNDBOARD_SOUNDS_UPDATE', all));
    assert.deepEqual(sounds(), ['13:c', '14:d']);
  });

  it('persists per entity and restores the same guilds in a fresh state', async () => {
    const { world, state } = connect(22);
    const store = new GuildStore(redis, 'a:', state, silent, 20);
    await store.load([0]);
    // Flushes between batches, so that events reach Redis as entity writes, not whole guilds.
    await store.flush();
    for (let batch = 0; batch < 4; batch++) {
      runLoad(world, 500, prng(6 + batch));
      await store.flush();
    }
    await store.close();
    // One hash per guild, a field per entity: an event rewrites only what it touched.
    const guildId = world.guildIds()[0]!;
    const fields = await redis.hkeys(`a:guild:0:${guildId}`);
    assert.ok(fields.includes('base') && fields.some((f) => f.startsWith('members:')) && fields.some((f) => f.startsWith('channels:')), fields.join(','));

    assertSame(world, await restore('a:'));

    // Members are written packed; the plain JSON of earlier versions reads as well.
    const member = Object.entries(await redis.hgetall(`a:guild:0:${guildId}`)).find(([f]) => f.startsWith('members:'))![1];
    assert.notEqual(member, unpack(member), 'members are written packed');
    for (const id of world.guildIds()) {
      const key = `a:guild:0:${id}`;
      const plain = Object.fromEntries(Object.entries(await redis.hgetall(key)).map(([f, v]) => [f, unpack(v)]));
      await redis.del(key);
      await redis.hset(key, plain);
    }
    assertSame(world, await restore('a:'));
  });

  it('moves the whole-guild hash of earlier versions to per-entity keys when it finds no others', async () => {
    const { world, state } = connect(25);
    runLoad(world, 300, prng(8));
    // What an earlier proxy left: READY, and `guilds:<shard>` with one whole GUILD_CREATE per guild.
    await redis.hset('c:ready', '0', JSON.stringify({ ...state.readyOf(0), guilds: [] }));
    for (const id of world.guildIds()) await redis.hset('c:guilds:0', id, JSON.stringify(state.guildCreateFor(0, id, ALL)));
    assertSame(world, await restore('c:'));
    assert.equal(await redis.exists('c:guilds:0'), 0, 'the old hash is dropped once moved');
    assertSame(world, await restore('c:'));
  });

  /** The session store as a restarted proxy loaded it: `session-1` persisted at `sequence`. */
  const sessionsAt = (sequence: number) => {
    const info = new Map<number, SessionInfo>([[0, { sessionId: 'session-1', sequence, shardId: 0, shardCount: 1, resumeURL: 'ws://x' }]]);
    return { info, get: (shard: number) => info.get(shard) ?? null, set: (shard: number, s: SessionInfo) => void info.set(shard, s) };
  };

  it('after a kill -9, skips what the RESUME replays of dispatches the persisted state already holds', async () => {
    // The upstream session's `s` is persisted apart from the guild state: when the guild state
    // was written after it, the RESUME replays dispatches the state holds (here the last 300).
    const world = generateWorld({ seed: 26, guilds: 3 });
    const sent: GatewayDispatchPayload[] = [];
    const targets = [new GuildState()];
    const send = (t: string, d: unknown) => {
      const payload = { ...wire(t, d), s: sent.length + 1 } as GatewayDispatchPayload;
      sent.push(payload);
      for (const state of targets) state.apply(0, payload);
    };
    const identify = (session_id: string) => {
      sent.length = 0;
      send('READY', { v: 10, user: world.botUser, guilds: world.guildIds().map((id) => ({ id, unavailable: true })), session_id, resume_gateway_url: 'ws://x', shard: [0, 1], application: world.application });
      for (const id of world.guildIds()) send('GUILD_CREATE', world.guildCreate(id));
    };
    world.on('dispatch', (e) => send(e.t, e.d));
    identify('session-1');
    const store = new GuildStore(redis, 'd:', targets[0]!, silent, 20);
    await store.load([0]);
    runLoad(world, 2_000, prng(9));
    await store.close();
    const replay = sent.slice(-300);
    assert.ok(replay.some((p) => p.t === 'GUILD_MEMBER_ADD' || p.t === 'GUILD_MEMBER_REMOVE'), 'the replay changes member counts');

    const restored = new GuildState();
    const again = new GuildStore(redis, 'd:', restored, silent, 20);
    const sessions = sessionsAt(sent.length - 300);
    await again.load([0], sessions);
    assert.equal(sessions.info.get(0)!.sequence, sent.length - 300, 'the session resumes from where it was persisted');
    for (const payload of replay) restored.apply(0, payload);
    assertSame(world, restored);
    // What follows the replay is applied.
    targets.splice(0, 1, restored);
    runLoad(world, 300, prng(10));
    assertSame(world, restored);
    // A new session starts again at s 1: nothing of it is skipped, whatever was pending.
    restored.skipReplayed(0, sent.length + 1_000);
    identify('session-2');
    runLoad(world, 300, prng(11));
    assertSame(world, restored);
    await again.close();
  });

  it('after a kill -9 with the state persisted behind the session, RESUMEs from the state', async () => {
    const world = generateWorld({ seed: 28, guilds: 3 });
    const state = new GuildState();
    const sent: GatewayDispatchPayload[] = [];
    const send = (t: string, d: unknown) => {
      const payload = { ...wire(t, d), s: sent.length + 1 } as GatewayDispatchPayload;
      sent.push(payload);
      state.apply(0, payload);
    };
    send('READY', { v: 10, user: world.botUser, guilds: world.guildIds().map((id) => ({ id, unavailable: true })), session_id: 'session-1', resume_gateway_url: 'ws://x', shard: [0, 1], application: world.application });
    for (const id of world.guildIds()) send('GUILD_CREATE', world.guildCreate(id));
    world.on('dispatch', (e) => send(e.t, e.d));
    const store = new GuildStore(redis, 'e:', state, silent, 20);
    await store.load([0]);
    runLoad(world, 500, prng(14));
    await store.close();
    const persisted = sent.length;
    // Then killed: the session store persisted 200 dispatches more than the guild state.
    runLoad(world, 200, prng(15));
    const sessions = sessionsAt(sent.length);
    const restored = new GuildState();
    const again = new GuildStore(redis, 'e:', restored, silent, 20);
    await again.load([0], sessions);
    await again.close();
    assert.equal(sessions.info.get(0)!.sequence, persisted, 'the RESUME starts where the guild state stands');
    for (const payload of sent.slice(persisted)) restored.apply(0, payload);
    assertSame(world, restored);
    // Another session (re-identified since) is left alone.
    const other = sessionsAt(5);
    other.info.set(0, { ...other.info.get(0)!, sessionId: 'session-2' });
    const third = new GuildStore(redis, 'e:', new GuildState(), silent, 20);
    await third.load([0], other);
    await third.close();
    assert.equal(other.info.get(0)!.sequence, 5);
  });

  it('retries a guild write that Redis refused, until it lands', async () => {
    const { world, state } = connect(23);
    const store = new GuildStore(redis, 'b:', state, silent, 20);
    await store.load([0]);
    await store.flush();
    // Writes now fail (OOM); the changes must survive until Redis takes them.
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    runLoad(world, 500, prng(7));
    await sleep(200);
    await redis.config('SET', 'maxmemory', '0');
    for (let i = 0; ; i++) {
      await sleep(100);
      try {
        assertSame(world, await restore('b:'));
        break;
      } catch (err) {
        if (i > 50) throw err;
      }
    }
    await store.close();
  });
});
