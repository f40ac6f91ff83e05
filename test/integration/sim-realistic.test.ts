// The realistic world (`sim --profile realistic`): a heavy-tailed guild size law, the same world
// for the same seed, and GUILD_CREATEs trimmed above large_threshold as Discord trims them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { generateRealisticWorld, realisticSizes } from '../../internal/sim/world-realistic';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, runSync, start } from '../helpers/process';

describe('sim realistic world', () => {
  it('guild sizes: most small, a tail to 100,000+ members at 10,000 guilds', () => {
    const sizes = realisticSizes(1, 10_000).sort((a, b) => a - b);
    assert.ok(sizes[5_000]! <= 20, `median ${sizes[5_000]}`);
    assert.ok(sizes.at(-1)! >= 100_000, `largest ${sizes.at(-1)}`);
    // Zipf: the second largest is about a third of the largest (ranks 1.5 and 0.5).
    assert.ok(Math.abs(sizes.at(-2)! * 3 - sizes.at(-1)!) < 10, `second ${sizes.at(-2)}`);
    assert.ok(sizes.filter((s) => s > 250).length / sizes.length < 0.05);
  });

  it('is the same world for the same seed, another for another seed', () => {
    const dump = (seed: number) => {
      const world = generateRealisticWorld({ seed, guilds: 50 });
      return JSON.stringify(world.guildIds().map((id) => world.guildCreate(id)));
    };
    assert.equal(dump(7), dump(7));
    assert.notEqual(dump(7), dump(8));
  });

  it('fills guilds with channels, threads, roles, expressions, presences and voice states', () => {
    const world = generateRealisticWorld({ seed: 3, guilds: 400 });
    const guilds = world.guildIds().map((id) => world.guildCreate(id)!);
    const total = (f: (g: (typeof guilds)[number]) => number) => guilds.reduce((n, g) => n + f(g), 0);
    const members = total((g) => g.members.length);
    assert.ok(guilds.every((g) => g.channels.length >= 3 && g.roles.length >= 3), 'every guild has channels and roles');
    assert.ok(total((g) => g.threads.length) > 0 && total((g) => g.emojis.length) > 0 && total((g) => g.stickers?.length ?? 0) > 0);
    const online = total((g) => g.presences.length) / members;
    assert.ok(online > 0.08 && online < 0.45, `online share ${online}`);
    const voice = total((g) => g.voice_states.length);
    assert.ok(voice > 0 && voice < total((g) => g.presences.length) * 0.1, `voice states ${voice}`);
    assert.ok(guilds.every((g) => g.member_count === g.members.length));
  });
});

describe('sim --profile realistic', () => {
  let sim: Running;
  let ws: string;
  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--profile', 'realistic', '--guilds', '200', '--shards', '1', '--identify-interval-ms', '0']);
    ws = /^sim listening on (\S+)/.exec(await sim.waitFor(/^sim listening on /, 60_000))![1]!.replace('http', 'ws');
  });
  after(() => sim.stop());

  it('sends large guilds with their online members only, small guilds whole', async () => {
    const client = new RawGatewayClient(ws);
    try {
      await client.next((f) => f.op === 10);
      // GUILDS | GUILD_MEMBERS | GUILD_PRESENCES, Discord's default large_threshold (50).
      client.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: 1 | 2 | 256, large_threshold: 50 });
      const ready = await client.dispatch('READY', 60_000);
      const expected = ready.d.guilds.length as number;
      const deadline = Date.now() + 120_000;
      while (client.frames.filter((f) => f.t === 'GUILD_CREATE').length < expected) {
        assert.ok(Date.now() < deadline, 'every GUILD_CREATE within 2 minutes');
        await new Promise((r) => setTimeout(r, 100));
      }
      const creates = client.frames.filter((f) => f.t === 'GUILD_CREATE').map((f) => f.d);
      const large = creates.filter((g) => g.large);
      assert.ok(large.length > 0 && large.length < creates.length / 4, `${large.length} large of ${creates.length}`);
      for (const g of creates) {
        if (g.large) {
          assert.ok(g.member_count > 50);
          const online = new Set(g.presences.map((p: { user: { id: string } }) => p.user.id));
          assert.ok(g.members.every((m: { user: { id: string } }) => online.has(m.user.id) || m.user.id === ready.d.user.id), 'only online members');
          assert.ok(g.members.length < g.member_count);
        } else assert.equal(g.members.length, g.member_count);
      }
    } finally {
      client.terminate();
    }
  });

  it('rejects an unknown profile', () => {
    const r = runSync(['sim', '--profile', 'huge']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--profile must be "small" or "realistic"/);
  });
});
