// The proxy's guild state, in process: fed the sim's dispatches (as JSON, like the wire), it
// holds the guilds the sim holds; persisted per entity to a real Redis it comes back whole in a
// fresh process; and a write that Redis refuses is retried until it lands.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import pino from 'pino';
import { guildCreateFor } from '../../internal/gateway/guild-create';
import { GatewayIntentBits } from '../../internal/gateway/protocol';
import { generateWorld } from '../../internal/sim/generate';
import { runLoad } from '../../internal/sim/load-generator';
import { prng } from '../../internal/sim/snowflake';
import type { SimWorld } from '../../internal/sim/world';
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
    ];
    for (const payload of odd) assert.doesNotThrow(() => state.apply(0, payload), payload.t);
    assertSame(world, state);
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
