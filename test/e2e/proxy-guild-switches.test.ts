// proxy.guild_state switches: a bot behind the proxy gets GUILD_CREATEs without the kinds the
// proxy was told not to keep, and with members "self" exactly the members Discord (the sim)
// sends a bot without the GUILD_MEMBERS intent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { within } from '../helpers/deadline';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { uniqueName } from '../helpers/services';

interface Guild {
  id: string;
  members: { user: { id: string } }[];
  presences: unknown[];
  voice_states: unknown[];
  emojis: unknown[];
  stickers: unknown[];
  threads: unknown[];
}

// GUILDS | GUILD_MEMBERS | GUILD_EXPRESSIONS | GUILD_VOICE_STATES | GUILD_PRESENCES
const ALL_INTENTS = 1 | 2 | 8 | 128 | 256;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every GUILD_CREATE a fresh session gets from `ws`, by guild id. */
async function guildCreates(ws: string, intents: number): Promise<Map<string, Guild>> {
  const client = new RawGatewayClient(ws);
  try {
    await client.next((f) => f.op === 10, 30_000);
    client.identify(DEFAULT_TOKEN, { shard: [0, 1], intents, large_threshold: 50 });
    const ready = await client.dispatch('READY', 60_000);
    const expected = (ready.d.guilds as unknown[]).length;
    const creates = () => client.frames.filter((f) => f.t === 'GUILD_CREATE');
    const deadline = Date.now() + 60_000;
    while (new Set(creates().map((f) => f.d.id)).size < expected) {
      assert.ok(Date.now() < deadline, `${creates().length} of ${expected} GUILD_CREATEs within 60 s`);
      await sleep(100);
    }
    return new Map(creates().map((f) => [f.d.id as string, f.d as Guild]));
  } finally {
    client.terminate();
  }
}

const total = (guilds: Map<string, Guild>, kind: 'members' | 'presences' | 'voice_states' | 'emojis' | 'stickers' | 'threads') =>
  [...guilds.values()].reduce((n, g) => n + (g[kind]?.length ?? 0), 0);

describe('proxy guild_state switches', () => {
  let sim: Running;
  let simUrl: string;
  const proxies: Running[] = [];
  let direct: Map<string, Guild>;

  /** A proxy with these switches, once its shard is ready: the GUILD_CREATEs a bot gets. */
  async function throughProxy(guildState: Record<string, unknown>): Promise<Map<string, Guild>> {
    const port = await freePort();
    const changes: Record<string, unknown> = { 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': `${uniqueName('st_switch')}:` };
    for (const [key, value] of Object.entries(guildState)) changes[`proxy.guild_state.${key}`] = value;
    const proxy = start(['proxy', '--config', writeTestConfig(changes).path]);
    proxies.push(proxy);
    await proxy.waitFor(/"msg":"proxy listening/, 60_000);
    const ready = async () => {
      for (;;) {
        const body = (await (await fetch(`http://127.0.0.1:${port}/shards`)).json()) as { shards: { status: string }[] };
        if (body.shards.length === 1 && body.shards[0]!.status === 'Ready') return;
        await sleep(100);
      }
    };
    await within(ready(), 60_000, 'proxy shard ready');
    // The first bot gets what the upstream sent while no bot was connected (GUILD_CREATEs as they
    // came); once every guild has come, a new session's GUILD_CREATEs are the proxy's own.
    await guildCreates(`ws://127.0.0.1:${port}`, ALL_INTENTS);
    return guildCreates(`ws://127.0.0.1:${port}`, ALL_INTENTS);
  }

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--profile', 'realistic', '--guilds', '60', '--shards', '1', '--seed', '4', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /, 60_000)).split(' ').at(-1)!;
    direct = await guildCreates(simUrl.replace('http', 'ws'), ALL_INTENTS);
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await sim.stop();
  });

  it('keeps every kind by default', async () => {
    const guilds = await throughProxy({});
    for (const kind of ['members', 'presences', 'voice_states', 'emojis', 'stickers', 'threads'] as const) {
      assert.ok(total(direct, kind) > 0, `the world has ${kind}`);
      assert.equal(total(guilds, kind), total(direct, kind), kind);
    }
  });

  it('leaves out presences, voice states, emojis, stickers and threads when off; members "self" as without GUILD_MEMBERS', async () => {
    const guilds = await throughProxy({ members: 'self', presences: false, voice_states: false, emojis_stickers: false, threads: false });
    for (const kind of ['presences', 'voice_states', 'emojis', 'stickers', 'threads'] as const) assert.equal(total(guilds, kind), 0, kind);
    // What Discord sends a bot without GUILD_MEMBERS: the bot itself and members in voice.
    const withoutMembers = await guildCreates(simUrl.replace('http', 'ws'), ALL_INTENTS & ~2);
    assert.ok(total(withoutMembers, 'members') < total(direct, 'members') / 2);
    assert.equal(guilds.size, withoutMembers.size);
    for (const [id, g] of withoutMembers) {
      const ids = (x: Guild) => x.members.map((m) => m.user.id).sort();
      assert.deepEqual(ids(guilds.get(id)!), ids(g), `guild ${id}`);
    }
  });

  it('members "none" keeps no member', async () => {
    const guilds = await throughProxy({ members: 'none' });
    assert.equal(total(guilds, 'members'), 0);
    assert.equal(total(guilds, 'presences'), total(direct, 'presences'));
  });
});
