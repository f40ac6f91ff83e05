// Issue #10, a bounded proxy: a stalled Redis (SIGSTOP) costs state cache writes and shard log
// entries (both bounded, counted), never events to bots or RabbitMQ; a bot that stops reading
// is closed once its send queue passes the bound, and its RESUME replays what it missed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { AMQP_URL, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = { 'content-type': 'application/json' };
type SimGuild = { id: string; shard: number; channels: { id: string; name: string; type: number }[] };

/** A private redis-server the test may SIGSTOP. */
async function privateRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitUntil('private redis listening', () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  }), 10_000);
  return { url: `redis://127.0.0.1:${port}/0`, proc };
}

describe('bounded proxy: slow Redis and slow bots (#10)', () => {
  let redis: { url: string; proc: ChildProcess };
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyUrl: string;
  let guild: SimGuild;
  let exchange: string;
  let prefix: string;
  let conn: ChannelModel;
  let channel: Channel;
  let queue: string;
  const published: { d: { id: string; content: string }; s: number; shard: number }[] = [];
  const clients: RawGatewayClient[] = [];

  const metric = async (name: string) => {
    const text = await (await fetch(`${proxyUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  };
  const downstream = async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { downstream: { connected: number } }).downstream;
  const burst = async (count: number) => {
    const res = await fetch(`${simUrl}/_sim/burst`, { method: 'POST', headers: json, body: JSON.stringify({ count, guild_id: guild.id }) });
    assert.equal(res.status, 200);
  };
  const identified = async () => {
    const c = new RawGatewayClient(proxyUrl.replace('http', 'ws'));
    clients.push(c);
    await c.next((f) => f.op === 10);
    c.identify(DEFAULT_TOKEN, { shard: [guild.shard, 2] });
    await c.dispatch('READY', 30_000);
    return c;
  };
  const messageIds = (c: RawGatewayClient) => c.frames.filter((f) => f.t === 'MESSAGE_CREATE').map((f) => f.d.id as string);

  before(async () => {
    redis = await privateRedis();
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '4', '--max-concurrency', '2', '--identify-interval-ms', '0', '--rest-limit', '100000']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guild = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[])[0]!;
    exchange = uniqueName('st_bp');
    prefix = `${uniqueName('st_bp')}:`;
    const port = await freePort();
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.redis_url': redis.url, 'meta.amqp_url': AMQP_URL, 'proxy.port': port,
      'proxy.session_key_prefix': `${prefix}s:`, 'proxy.buffer_max_events': 500_000, 'proxy.client_send_queue_max_bytes': 65_536,
      // Few shard log entries may wait for Redis: the stall below overflows them.
      'proxy.shard_log_max_events': 100,
      'proxy.amqp.enabled': true, 'proxy.amqp.exchange': exchange, 'proxy.amqp.send_queue': `${exchange}.send`, 'proxy.amqp.default_queue': false,
      'proxy.state.enabled': true, 'proxy.state.prefix': prefix,
    });
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    proxyUrl = `http://127.0.0.1:${port}`;
    await waitUntil('shards ready', async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready'));

    conn = await amqp.connect(AMQP_URL);
    channel = await conn.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, exchange, 'MESSAGE_CREATE');
    await channel.consume(queue, (msg) => msg && published.push(JSON.parse(msg.content.toString())), { noAck: true });
  });

  after(async () => {
    for (const c of clients) c.terminate();
    redis?.proc.kill('SIGCONT');
    await proxy?.stop('SIGKILL');
    await sim?.stop();
    redis?.proc.kill('SIGKILL');
    await channel?.deleteExchange(exchange).catch(() => {});
    await conn?.close();
  });

  it('a stalled Redis drops cache writes and log entries (counted) but no event to bots or RabbitMQ, in order', async () => {
    const bot = await identified();
    redis.proc.kill('SIGSTOP');
    try {
      await burst(300);
      await waitUntil('the bot got 300 messages', () => messageIds(bot).length >= 300, 30_000);
      await waitUntil('RabbitMQ got 300 messages', () => published.length >= 300, 30_000);
      assert.deepEqual(published.map((b) => b.d.id), messageIds(bot), 'the same events, in the same order');
      const seqs = published.map((b) => b.s);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      assert.ok((await metric('proxy_state_cache_dropped_total')) > 0, 'skipped cache writes are counted');
      assert.ok((await metric('proxy_shard_log_dropped_total')) >= 200, 'shard log entries past the bound are dropped, counted');
    } finally {
      redis.proc.kill('SIGCONT');
    }
    // Redis is back: the cache is written again.
    const dropped = await metric('proxy_state_cache_dropped_total');
    const r = new Redis(redis.url);
    try {
      await waitUntil('cache writes resume', async () => {
        const res = await fetch(`${simUrl}/_sim/guilds/${guild.id}/channels/${guild.channels.find((c) => c.name === 'general')!.id}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content: 'redis is back' }) });
        const m = (await res.json()) as { id: string; channel_id: string };
        await sleep(300);
        return (await r.exists(`${prefix}message:${m.channel_id}:${m.id}`)) === 1;
      });
      assert.ok((await metric('proxy_state_cache_dropped_total')) - dropped < 10);
    } finally {
      await r.quit();
    }
    bot.close();
  });

  it('a bot that stops reading is closed once its send queue passes the bound; its RESUME replays the rest', async () => {
    const reader = await identified();
    const slow = await identified();
    const sessionId = (slow.frames.find((f) => f.t === 'READY')!.d as { session_id: string }).session_id;
    const connected = (await downstream()).connected;
    slow.pause();
    let sent = 0;
    for (let i = 0; i < 40 && (await downstream()).connected === connected; i++) {
      await burst(5_000);
      sent += 5_000;
      await sleep(200);
    }
    await waitUntil('the proxy closed the slow bot', async () => (await downstream()).connected === connected - 1, 30_000);
    await waitUntil('the reading bot got every event', () => messageIds(reader).length >= sent, 120_000);

    slow.resume();
    const closed = await slow.closed;
    assert.ok(closed.code === 4000 || closed.code === 1006, `closed with ${closed.code}`);
    const lastSeq = Math.max(...slow.frames.map((f) => f.s ?? 0));
    const seen = messageIds(slow);
    assert.ok(seen.length < sent, 'the slow bot missed some events');

    const again = new RawGatewayClient(proxyUrl.replace('http', 'ws'));
    clients.push(again);
    await again.next((f) => f.op === 10);
    again.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq: lastSeq } });
    await again.dispatch('RESUMED', 60_000);
    assert.equal(again.frames.find((f) => f.op === 0)?.s, lastSeq + 1, 'the replay starts right after the last seq seen');
    assert.deepEqual([...seen, ...messageIds(again)], messageIds(reader), 'every event once, in order');
  });
});
