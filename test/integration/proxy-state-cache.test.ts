// The Redis state cache against the sim: fed the sim's dispatches in order (with the proxy's
// guild state supplying `old`, as in the proxy), every guild's emojis, stickers, stage instances
// and scheduled events in Redis are the sim's, removed ones included (gone).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import { generateWorld } from '../../internal/sim/generate';
import { runLoad } from '../../internal/sim/load-generator';
import { prng } from '../../internal/sim/snowflake';
import { GuildState } from '../../proxy/guild-state';
import { StateCache } from '../../proxy/state/cache';
import { REDIS_URL, uniqueName } from '../helpers/services';

const wire = (t: string, d: unknown) => JSON.parse(JSON.stringify({ t, d })) as GatewayDispatchPayload;
const LISTS = [
  ['emoji', 'emojis'],
  ['sticker', 'stickers'],
  ['stage_instance', 'stage_instances'],
  ['scheduled_event', 'guild_scheduled_events'],
] as const;

describe('proxy state cache', () => {
  let redis: Redis;
  const prefix = `${uniqueName('st_cache')}:`;

  before(() => {
    redis = new Redis(REDIS_URL);
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('holds each guild emojis, stickers, stage instances and scheduled events as the sim does after 3,000 mixed events', async () => {
    const world = generateWorld({ seed: 31, guilds: 3 });
    const state = new GuildState();
    const cache = new StateCache(redis, {
      prefix, hash_tags: false, old: true, guilds: true, channels: true, roles: true, emojis: true, members: true,
      member_ttl_seconds: 0, messages: false, message_ttl_seconds: 0, presences: true, voice: true,
    });
    const queue: GatewayDispatchPayload[] = [
      wire('READY', { v: 10, user: world.botUser, guilds: world.guildIds().map((id) => ({ id, unavailable: true })), session_id: 's', resume_gateway_url: 'ws://x', shard: [0, 1], application: world.application }),
      ...world.guildIds().map((id) => wire('GUILD_CREATE', world.guildCreate(id))),
    ];
    world.on('dispatch', (e) => queue.push(wire(e.t, e.d)));
    const kinds = runLoad(world, 3_000, prng(12));
    for (const t of ['GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'STAGE_INSTANCE_DELETE', 'GUILD_SCHEDULED_EVENT_DELETE']) assert.ok(kinds[t], `the load sent ${t}`);

    const everCached = new Set<string>();
    const olds: Record<string, unknown[]> = {};
    for (const payload of queue) {
      const known = state.apply(0, payload);
      const old = await cache.process(payload, known);
      if (old !== undefined) (olds[payload.t] ??= []).push(old);
      for (const key of await redis.keys(`${prefix}emoji:*`)) everCached.add(key);
    }

    for (const id of world.guildIds()) {
      const guild = world.guildCreate(id) as unknown as Record<string, { id: string }[]>;
      for (const [kind, list] of LISTS) {
        const keys = (await redis.keys(`${prefix}${kind}:${id}:*`)).sort();
        assert.deepEqual(keys, guild[list]!.map((e) => `${prefix}${kind}:${id}:${e.id}`).sort(), `guild ${id} ${list}`);
        for (const e of guild[list]!) assert.deepEqual(JSON.parse((await redis.get(`${prefix}${kind}:${id}:${e.id}`))!), JSON.parse(JSON.stringify(e)), `${kind} ${e.id}`);
      }
    }
    const emojisNow = (await redis.keys(`${prefix}emoji:*`)).length;
    assert.ok(everCached.size > emojisNow, `emojis were deleted on the way (${everCached.size} cached at some point, ${emojisNow} now)`);
    // `old`: the list an emoji update replaced, the stage instance or event an update or delete replaced.
    for (const t of ['GUILD_EMOJIS_UPDATE', 'STAGE_INSTANCE_DELETE', 'GUILD_SCHEDULED_EVENT_UPDATE']) assert.ok(olds[t]?.length, `${t} carries old`);
    assert.ok(olds.GUILD_EMOJIS_UPDATE!.every(Array.isArray));
  });
});
