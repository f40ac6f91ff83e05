// The sim's gateway against Discord's rules: close codes, identify limits, resume, zlib-stream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

async function startSim(args: string[]): Promise<{ sim: Running; base: string; ws: string }> {
  const port = await freePort();
  const sim = start(['sim', '--port', String(port), ...args]);
  const base = /^sim listening on (\S+)/.exec(await sim.waitFor(/^sim listening on /))![1]!;
  return { sim, base, ws: base.replace('http', 'ws') };
}

describe('sim gateway: close codes', () => {
  let env: Awaited<ReturnType<typeof startSim>>;
  const clients: RawGatewayClient[] = [];
  const client = async (query?: string) => {
    const c = new RawGatewayClient(env.ws, query);
    clients.push(c);
    await c.next((f) => f.op === 10);
    return c;
  };
  // A well-behaved session that lives through every bad client below.
  let bystander: RawGatewayClient;
  let beat: NodeJS.Timeout;
  before(async () => {
    env = await startSim(['--shards', '2', '--guilds', '6', '--max-concurrency', '16', '--identify-interval-ms', '0', '--heartbeat-interval-ms', '1000']);
    bystander = await client();
    beat = setInterval(() => bystander.send({ op: 1, d: null }), 700);
    bystander.identify(DEFAULT_TOKEN, { shard: [0, 2], intents: 1 | (1 << 9) | (1 << 15) });
    await bystander.dispatch('GUILD_CREATE');
  });
  after(async () => {
    clearInterval(beat);
    for (const c of clients) c.terminate();
    await env.sim.stop();
  });

  const cases: [string, (c: RawGatewayClient) => void, number, string?][] = [
    ['4001 unknown opcode', (c) => c.send({ op: 99, d: null }), 4001],
    ['4002 malformed JSON', (c) => c.send('{not json'), 4002],
    ['4002 payload over 4096 bytes', (c) => c.send({ op: 3, d: { pad: 'x'.repeat(5000) } }), 4002],
    ['4003 command before identify', (c) => c.send({ op: 3, d: { status: 'online', since: null, activities: [], afk: false } }), 4003],
    ['4004 wrong token', (c) => c.identify('wrong-token'), 4004],
    ['4010 invalid shard', (c) => c.identify(DEFAULT_TOKEN, { shard: [5, 2] }), 4010],
    ['4013 invalid intents', (c) => c.identify(DEFAULT_TOKEN, { intents: 1 << 30 }), 4013],
  ];
  for (const [name, act, code] of cases) {
    it(name, async () => {
      const c = await client();
      act(c);
      assert.equal((await c.closed).code, code);
    });
  }

  it('4005 identify twice', async () => {
    const c = await client();
    c.identify(DEFAULT_TOKEN, { shard: [0, 2] });
    await c.dispatch('READY');
    c.identify(DEFAULT_TOKEN, { shard: [0, 2] });
    assert.equal((await c.closed).code, 4005);
  });

  it('4008 more than 120 sends in 60 s', async () => {
    const c = await client();
    c.identify(DEFAULT_TOKEN, { shard: [1, 2] });
    await c.dispatch('READY');
    for (let i = 0; i < 125; i++) c.send({ op: 1, d: null });
    assert.equal((await c.closed).code, 4008);
  });

  it('4009 no heartbeat', async () => {
    const c = await client();
    const started = Date.now();
    assert.equal((await c.closed).code, 4009);
    assert.ok(Date.now() - started >= 1000, 'not before one interval');
  });

  it('4012 unsupported API version', async () => {
    const c = new RawGatewayClient(env.ws, 'v=6&encoding=json');
    clients.push(c);
    assert.equal((await c.closed).code, 4012);
  });

  it('4007 resume with a seq from the future', async () => {
    const a = await client();
    a.identify(DEFAULT_TOKEN, { shard: [0, 2] });
    const ready = await a.dispatch('READY');
    a.terminate();
    const b = await client();
    b.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: ready.d.session_id, seq: 10_000 } });
    assert.equal((await b.closed).code, 4007);
  });

  it('unknown session on resume -> INVALID_SESSION false', async () => {
    const c = await client();
    c.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: 'nope', seq: 1 } });
    const invalid = await c.next((f) => f.op === 9);
    assert.equal(invalid.d, false);
  });

  it('answers heartbeats with ACK and keeps other sessions untouched', async () => {
    const c = await client();
    c.identify(DEFAULT_TOKEN, { shard: [1, 2] });
    await c.dispatch('READY');
    c.send({ op: 1, d: null });
    await c.next((f) => f.op === 11);
    const bad = await client();
    bad.send('garbage');
    await bad.closed;
    c.send({ op: 1, d: 1 });
    await c.next((f) => f.op === 11 && c.frames.filter((x) => x.op === 11).length >= 2);
  });

  it('the sim and a well-behaved session outlive every bad client', async () => {
    const guild = bystander.frames.find((f) => f.t === 'GUILD_CREATE')!.d as { id: string; channels: { id: string; name: string }[] };
    const channel = guild.channels.find((ch) => ch.name === 'general')!;
    const res = await fetch(`${env.base}/_sim/guilds/${guild.id}/channels/${channel.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'still here' }),
    });
    assert.equal(res.status, 200);
    assert.equal((await bystander.next((f) => f.t === 'MESSAGE_CREATE' && f.d.content === 'still here')).d.channel_id, channel.id);
    const stats = (await (await fetch(`${env.base}/_sim/stats`)).json()) as { shards: Record<string, { connected: number }> };
    assert.ok(stats.shards['0']!.connected >= 1);
  });
});

describe('sim gateway: sessions', () => {
  it('4014 privileged intents the app lacks; 4011 more than 2,500 guilds on one shard', async () => {
    const env = await startSim(['--shards', '1', '--guilds', '2501', '--identify-interval-ms', '0', '--privileged-intents', '0']);
    const clients = [new RawGatewayClient(env.ws), new RawGatewayClient(env.ws)];
    try {
      for (const c of clients) await c.next((f) => f.op === 10);
      clients[0]!.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: 1 | (1 << 15) });
      assert.equal((await clients[0]!.closed).code, 4014);
      clients[1]!.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: 1 });
      assert.equal((await clients[1]!.closed).code, 4011);
    } finally {
      for (const c of clients) c.terminate();
      await env.sim.stop();
    }
  });

  it('identify rate limit: 4 shards at max_concurrency 1 take at least 3 intervals', async () => {
    const env = await startSim(['--shards', '4', '--guilds', '4', '--max-concurrency', '1', '--identify-interval-ms', '400']);
    const clients: RawGatewayClient[] = [];
    try {
      const started = Date.now();
      const readyAt: number[] = [];
      const deadline = Date.now() + 60_000;
      for (let shard = 0; shard < 4; shard++) {
        // A well-behaved client retries after INVALID_SESSION; this one retries every 100 ms.
        for (;;) {
          assert.ok(Date.now() < deadline, `shard ${shard} not READY within 60 s`);
          const c = new RawGatewayClient(env.ws);
          clients.push(c);
          await c.next((f) => f.op === 10);
          c.identify(DEFAULT_TOKEN, { shard: [shard, 4] });
          const answer = await c.next((f) => f.op === 9 || f.t === 'READY');
          if (answer.t === 'READY') {
            readyAt.push(Date.now() - started);
            break;
          }
          c.close();
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(readyAt[3]! >= 3 * 400, `all ready after ${readyAt[3]} ms`);
      const stats = (await (await fetch(`${env.base}/_sim/stats`)).json()) as { shards: Record<string, { identifies: number }> };
      assert.deepEqual(Object.values(stats.shards).map((s) => s.identifies), [1, 1, 1, 1]);
      // Refused identifies do not spend the daily budget; the four accepted ones do.
      const bot = (await (await fetch(`${env.base}/api/v10/gateway/bot`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } })).json()) as {
        session_start_limit: { total: number; remaining: number; reset_after: number; max_concurrency: number };
      };
      assert.deepEqual([bot.session_start_limit.total, bot.session_start_limit.remaining, bot.session_start_limit.max_concurrency], [1000, 996, 1]);
      assert.ok(bot.session_start_limit.reset_after > 86_000_000);
    } finally {
      for (const c of clients) c.terminate();
      await env.sim.stop();
    }
  });

  it('zlib-stream: every message ends with the sync-flush suffix and inflates', async () => {
    const env = await startSim(['--shards', '1', '--guilds', '3', '--identify-interval-ms', '0']);
    const c = new RawGatewayClient(env.ws, 'v=10&encoding=json&compress=zlib-stream');
    try {
      await c.next((f) => f.op === 10);
      c.identify(DEFAULT_TOKEN, { shard: [0, 1] });
      await c.dispatch('READY');
      await c.next((f) => f.t === 'GUILD_CREATE' && c.frames.filter((x) => x.t === 'GUILD_CREATE').length === 3);
      assert.ok(c.rawChunks.length >= 5);
      for (const chunk of c.rawChunks) assert.deepEqual([...chunk.subarray(-4)], [0, 0, 0xff, 0xff]);
    } finally {
      c.terminate();
      await env.sim.stop();
    }
  });

  it('MESSAGE_CONTENT: without the intent, content arrives empty', async () => {
    const env = await startSim(['--shards', '1', '--guilds', '1', '--identify-interval-ms', '0']);
    const c = new RawGatewayClient(env.ws);
    try {
      await c.next((f) => f.op === 10);
      c.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: 1 | 512 });
      const created = await c.dispatch('GUILD_CREATE');
      const channel = created.d.channels.find((ch: { name: string }) => ch.name === 'general');
      await fetch(`${env.base}/_sim/guilds/${created.d.id}/channels/${channel.id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'secret words' }) });
      const message = await c.dispatch('MESSAGE_CREATE');
      assert.equal(message.d.content, '');
    } finally {
      c.terminate();
      await env.sim.stop();
    }
  });
});
