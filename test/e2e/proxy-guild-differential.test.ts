// One guild, whatever the path: after thousands of mixed guild events, a fresh bot that
// connects through the proxy gets the same GUILD_CREATEs as one connected straight to the sim
// (Discord), for each set of intents; and again after the proxy restarts, RESUMEs upstream and
// serves what it persisted in Redis.
//
// Lists are compared sorted by id (member, presence and voice state by user id): their order is
// not part of Discord's contract. Exceptions (also in the README's proxy section):
// - soundboard_sounds: the sim has no soundboard, so both sides send [] and the proxy's
//   handling of GUILD_SOUNDBOARD_SOUND_* is not exercised here.
// - THREAD_LIST_SYNC is not sent by the sim (it has no channel-access changes), so not covered
//   here; it and the soundboard events are applied in test/integration/proxy-guild-store.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GatewayIntentBits } from '../../internal/gateway/protocol';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

type Guild = Record<string, unknown> & { id: string };
const SHARDS = 2;
const PROXY_INTENTS = 3276799;
const PRIVILEGED = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
const INTENT_SETS: [string, number][] = [
  ['all intents', PROXY_INTENTS],
  ['no privileged intents', PROXY_INTENTS & ~PRIVILEGED],
  ['GUILDS only', GatewayIntentBits.Guilds],
];
/** Every kind of event the load must include. */
const KINDS = [
  'MESSAGE_CREATE', 'GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE', 'PRESENCE_UPDATE', 'VOICE_STATE_UPDATE',
  'CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'CHANNEL_PINS_UPDATE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE',
  'GUILD_UPDATE', 'GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE', 'THREAD_MEMBERS_UPDATE',
  'STAGE_INSTANCE_CREATE', 'STAGE_INSTANCE_UPDATE', 'STAGE_INSTANCE_DELETE', 'GUILD_SCHEDULED_EVENT_CREATE', 'GUILD_SCHEDULED_EVENT_UPDATE',
  'GUILD_SCHEDULED_EVENT_DELETE', 'GUILD_SCHEDULED_EVENT_USER_ADD',
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** IDENTIFYs until READY: an identify over the rate limit gets INVALID_SESSION, then tries again. */
async function identify(client: RawGatewayClient, intents: number, shard: number): Promise<RawFrame> {
  for (let seen = 0; ; ) {
    client.identify(DEFAULT_TOKEN, { intents, shard: [shard, SHARDS] });
    const frame = await client.next((f) => f.t === 'READY' || (f.op === 9 && client.frames.indexOf(f) >= seen), 60_000);
    if (frame.op === 0) return frame;
    seen = client.frames.indexOf(frame) + 1;
    await sleep(1_000);
  }
}

/** The GUILD_CREATEs a freshly identified bot gets on one shard, by guild id. */
async function guildCreates(url: string, shard: number, intents: number): Promise<Map<string, Guild>> {
  const client = new RawGatewayClient(url);
  try {
    await client.next((f) => f.op === 10);
    const ready = await identify(client, intents, shard);
    const ids = (ready.d.guilds as { id: string }[]).map((g) => g.id);
    const out = new Map<string, Guild>();
    for (const id of ids) {
      const frame = await client.next((f) => f.t === 'GUILD_CREATE' && f.d.id === id, 30_000);
      out.set(id, frame.d as Guild);
    }
    return out;
  } finally {
    client.close();
  }
}

/** Lists sorted by id, so that only content is compared. */
function normalized(guild: Guild): Guild {
  const key = (e: Record<string, unknown>) => String(e.id ?? e.user_id ?? (e.user as { id?: string } | undefined)?.id ?? e.sound_id);
  const out: Guild = { ...guild };
  for (const [k, v] of Object.entries(out)) {
    if (Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null)) out[k] = [...v].sort((a, b) => key(a).localeCompare(key(b)));
  }
  return out;
}

/** Paths where two JSON values differ, with both values, to read a failure at a glance. */
function differences(got: unknown, want: unknown, path = ''): string[] {
  if (typeof got !== 'object' || typeof want !== 'object' || got === null || want === null) {
    return got === want ? [] : [`${path}: proxy ${JSON.stringify(got)}, sim ${JSON.stringify(want)}`];
  }
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...keys].flatMap((k) => differences((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${path}.${k}`));
}

describe('proxy guild state (differential against the sim)', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyUrl: string;
  let configPath: string;
  let prefix: string;
  let guilds: { id: string; owner_id: string; shard: number; channels: { id: string; name: string }[] }[];
  let watchers: RawGatewayClient[] = [];
  let sentinel = 0;

  const waitUntil = async (what: string, fn: () => Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}\nproxy:\n${proxy.output().slice(-3000)}`);
      await sleep(100);
    }
  };
  const startProxy = async () => {
    const p = start(['proxy', '--config', configPath]);
    await p.waitFor(/"msg":"proxy listening/);
    proxy = p;
    await waitUntil('all upstream shards ready', async () => {
      const body = (await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] };
      return body.shards.length === SHARDS && body.shards.every((s) => s.status === 'Ready');
    });
  };
  /** Bots on the proxy that see every event; a marker seen by them was applied before. */
  const watch = async () => {
    watchers = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const client = new RawGatewayClient(proxyUrl.replace('http', 'ws'));
      await client.next((f) => f.op === 10);
      await identify(client, PROXY_INTENTS, shard);
      watchers.push(client);
    }
  };
  const load = async (events: number, seed: number) => {
    const res = await fetch(`${simUrl}/_sim/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events, seed }) });
    assert.equal(res.status, 200);
    return (await res.json()) as { events: number; kinds: Record<string, number> };
  };
  /** Changes through the REST routes (not the load generator) that touch other entities too. */
  const restChanges = async (guildId: string) => {
    const g = guilds.find((x) => x.id === guildId)!;
    const state = (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as { members: { user: { id: string; bot?: boolean } }[] };
    const [a, b] = state.members.filter((m) => !m.user.bot && m.user.id !== g.owner_id).map((m) => m.user.id);
    const act = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${simUrl}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: g.owner_id, method, path, body }) });
      const text = await res.text();
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as { id: string }) : undefined;
    };
    // A role given to a member, then deleted: the member loses it with no GUILD_MEMBER_UPDATE.
    const role = await act('POST', `/guilds/${guildId}/roles`, { name: 'rest-role' });
    await act('PATCH', `/guilds/${guildId}/members/${a}`, { roles: [role!.id] });
    await act('DELETE', `/guilds/${guildId}/roles/${role!.id}`);
    // A channel with a thread, then the channel deleted: the thread goes with it.
    const channel = await act('POST', `/guilds/${guildId}/channels`, { name: 'rest-chan' });
    await act('POST', `/channels/${channel!.id}/threads`, { name: 'rest-thread' });
    await act('DELETE', `/channels/${channel!.id}`);
    // A member in voice and online, then kicked.
    const voice = g.channels.find((c) => c.name === 'General')!;
    await fetch(`${simUrl}/_sim/guilds/${guildId}/voice`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: b, channel_id: voice.id }) });
    await fetch(`${simUrl}/_sim/guilds/${guildId}/presences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: b, status: 'online' }) });
    await act('DELETE', `/guilds/${guildId}/members/${b}`);
    await act('PATCH', `/guilds/${guildId}`, { description: 'changed over REST' });
    await act('POST', `/guilds/${guildId}/emojis`, { name: 'rest_emoji', image: 'data:image/png;base64,iVBORw0KGgo=' });
    await act('POST', `/guilds/${guildId}/scheduled-events`, { name: 'rest event', privacy_level: 2, scheduled_start_time: new Date(Date.now() + 3_600_000).toISOString(), entity_type: 2, channel_id: voice.id });
  };
  /** One message per guild after the load; once the proxy's bots have them all, the proxy is caught up. */
  const caughtUp = async () => {
    const marks = new Map<string, number>();
    for (const g of guilds) {
      const content = `sentinel ${++sentinel}`;
      const general = g.channels.find((c) => c.name === 'general')!;
      const res = await fetch(`${simUrl}/_sim/guilds/${g.id}/channels/${general.id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }) });
      assert.equal(res.status, 200);
      marks.set(content, g.shard);
    }
    for (const [content, shard] of marks) await watchers[shard]!.next((f) => f.t === 'MESSAGE_CREATE' && f.d.content === content, 60_000);
  };
  const compareAll = async () => {
    for (const [label, intents] of INTENT_SETS) {
      for (let shard = 0; shard < SHARDS; shard++) {
        const direct = await guildCreates(simUrl.replace('http', 'ws'), shard, intents);
        const proxied = await guildCreates(proxyUrl.replace('http', 'ws'), shard, intents);
        assert.deepEqual([...proxied.keys()].sort(), [...direct.keys()].sort(), `${label}, shard ${shard}: guild ids`);
        for (const [id, guild] of direct) {
          const want = normalized(guild);
          const got = normalized(proxied.get(id)!);
          assert.deepEqual(differences(got, want), [], `${label}, shard ${shard}, guild ${id}: proxy vs sim`);
          assert.deepStrictEqual(got, want);
        }
      }
    }
  };

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', String(SHARDS), '--guilds', '6', '--max-concurrency', String(SHARDS), '--identify-interval-ms', '100', '--seed', '11']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as typeof guilds;
    const port = await freePort();
    prefix = `${uniqueName('st_guilddiff')}:`;
    configPath = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix, 'proxy.intents': PROXY_INTENTS }).path;
    proxyUrl = `http://127.0.0.1:${port}`;
    await startProxy();
    await watch();
  });

  after(async () => {
    for (const w of watchers) w.terminate();
    await proxy?.stop();
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('after 5,000 mixed events, every guild is the same through the proxy as straight from the sim, for each intent set', async () => {
    const { events, kinds } = await load(5000, 42);
    assert.ok(events >= 5000);
    for (const kind of KINDS) assert.ok((kinds[kind] ?? 0) > 0, `the load sent no ${kind}: ${JSON.stringify(kinds)}`);
    for (const g of guilds.slice(0, 2)) await restChanges(g.id);
    await caughtUp();
    await compareAll();
  });

  it('a restarted proxy RESUMEs, loads its persisted guilds and still serves the same guilds', async () => {
    const stats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: Record<string, { identifies: number; resumes: number }> }).shards;
    const before = await stats();
    for (const w of watchers) w.terminate();
    await proxy.stop();
    // Events while the proxy is down: RESUME replays them on top of the persisted state.
    await load(1500, 43);
    await startProxy();
    const afterStats = await stats();
    for (let shard = 0; shard < SHARDS; shard++) {
      assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies, `shard ${shard}: the proxy identified upstream again`);
      assert.ok(afterStats[shard]!.resumes > before[shard]!.resumes, `shard ${shard}: the proxy did not RESUME`);
    }
    await watch();
    await load(1000, 44);
    await caughtUp();
    await compareAll();
  });
});
