// Fuzz of the proxy's downstream gateway (issue #19): generated frames, before and after
// IDENTIFY, against a real proxy behind the sim. Every bad frame gets a clean close code; the
// proxy stays up (same pid, bounded RSS); nothing invalid reaches the sim (which would close
// the upstream shard 4002 and make it RESUME or IDENTIFY again); a good IDENTIFY still works.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { deeplyNested, FUZZ_RUNS, fuzzParams, hostileJson, hostileString, rssOf } from '../helpers/fuzz';
import { assertRssWithin } from '../helpers/fuzz-run';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type ShardStats = Record<string, { identifies: number; resumes: number; connected: number }>;

/** Close codes a bad frame may get: Discord's, each naming what was wrong. */
const CLEAN_CODES = new Set([4001, 4002, 4003, 4004, 4005, 4008, 4010, 4011, 4013]);

const presence = { since: null, activities: [{ name: 'fuzz', type: 0 }], status: 'online', afk: false };
const GUILD = '1';
/** Valid payloads per client op, which the fuzzer then breaks one field at a time. */
const valid: Record<number, Record<string, unknown>> = {
  2: { token: DEFAULT_TOKEN, intents: 513, properties: { os: 'linux', browser: 'fuzz', device: 'fuzz' }, shard: [0, 2] },
  3: presence,
  4: { guild_id: GUILD, channel_id: null, self_mute: false, self_deaf: false },
  6: { token: DEFAULT_TOKEN, session_id: 'x', seq: 1 },
  8: { guild_id: GUILD, query: '', limit: 0 },
};

const mutated = fc.constantFrom(2, 3, 4, 6, 8).chain((op) => {
  const base = valid[op]!;
  const keys = Object.keys(base);
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: hostileJson }).map(({ key, value }) => ({ op, d: { ...base, [key]: value } })),
    fc.constantFrom(...keys).map((key) => {
      const { [key]: _, ...rest } = base;
      return { op, d: rest };
    }),
    hostileJson.map((d) => ({ op, d })),
  );
});

const frameArb: fc.Arbitrary<string> = fc.oneof(
  mutated.map((f) => JSON.stringify(f)),
  fc.record({ op: fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom(1.5, 2 ** 53, null, '2', [])), d: hostileJson }).map((f) => JSON.stringify(f)),
  hostileString,
  fc.constantFrom('{{{', '[]', 'null', '1', '"op"', '{"op":8,"d":{}}', '{"op":3,"d":[]}', '{"op":1,"d":"x"}', deeplyNested(2000)),
  fc.constantFrom(5_000, 70_000).map((n) => JSON.stringify({ op: 3, d: { ...presence, pad: 'x'.repeat(n) } })),
);

describe('fuzz: proxy downstream gateway', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let ws: string;
  let prefix: string;

  const stats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: ShardStats }).shards;
  const connect = async (identify: boolean) => {
    const c = new RawGatewayClient(ws);
    await c.next((f) => f.op === 10);
    if (identify) {
      c.identify(DEFAULT_TOKEN, { shard: [0, 2] });
      await c.dispatch('READY', 30_000);
    }
    return c;
  };
  /** Sends one frame; resolves with the close it caused, or undefined once it was accepted. */
  const attempt = async (frame: string, identify: boolean) => {
    const c = await connect(identify);
    c.send(frame);
    const closed = await Promise.race([c.closed, sleep(300).then(() => undefined)]);
    if (!closed) {
      c.close(1000);
      await c.closed;
    }
    return closed;
  };
  const run = (runs: number) =>
    fc.assert(
      fc.asyncProperty(frameArb, fc.boolean(), async (frame, identify) => {
        const closed = await attempt(frame, identify);
        if (closed) assert.ok(CLEAN_CODES.has(closed.code), `frame ${frame.slice(0, 200)} closed with ${closed.code} ${closed.reason}`);
      }),
      { ...fuzzParams(), numRuns: runs },
    );

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '4', '--max-concurrency', '2', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    // The guild every valid command names: one the proxy's shard 0 holds.
    const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[];
    const onShard0 = guilds.find((g) => g.shard === 0)!.id;
    for (const op of [4, 8]) valid[op]!.guild_id = onShard0;
    const port = await freePort();
    prefix = `${uniqueName('st_fuzzgw')}:`;
    const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix });
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    ws = `ws://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (!((await (await fetch(`http://127.0.0.1:${port}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready')) {
      if (Date.now() > deadline) throw new Error('upstream shards not ready');
      await sleep(100);
    }
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it(`${FUZZ_RUNS} generated frames: clean closes, nothing invalid upstream, the proxy unharmed`, async () => {
    const pid = proxy.child.pid!;
    await run(30); // warm-up
    const rssBefore = rssOf(pid);
    const before = await stats();

    await run(FUZZ_RUNS);

    assert.equal(proxy.child.exitCode, null, 'the proxy is still running');
    assert.equal(proxy.child.pid, pid);
    const afterStats = await stats();
    for (const shard of Object.keys(before)) {
      assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies, `shard ${shard}: the sim saw a new upstream IDENTIFY`);
      assert.equal(afterStats[shard]!.resumes, before[shard]!.resumes, `shard ${shard}: the upstream connection was closed and resumed`);
      assert.equal(afterStats[shard]!.connected, 1, `shard ${shard}: one upstream connection`);
    }
    const good = await connect(true);
    assert.ok(good.frames.some((f) => f.t === 'READY'));
    good.close();
    const rssAfter = rssOf(pid);
    assertRssWithin({ rssBefore, rssAfter });
  });
});
