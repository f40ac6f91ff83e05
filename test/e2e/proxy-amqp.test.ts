// The proxy's consumer side against the sim, real RabbitMQ and real Redis: events on the
// `gateway` exchange, commands from `gateway.send`, the state cache and its metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { DEFAULT_APP_ID, DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { start } from '../helpers/process';
import { privateRabbit } from '../helpers/rabbitmq';
import { AMQP_URL, REDIS_URL, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';

interface Body {
  op: number;
  t: string;
  d: Record<string, any>;
  s: number;
  shard: number;
  old?: Record<string, any>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = { 'content-type': 'application/json' };

async function stack(amqpUrl: string) {
  const sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '4', '--max-concurrency', '2', '--identify-interval-ms', '0', '--rest-limit', '1000']);
  const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number; channels: { id: string; name: string }[] }[];
  const logChannel = guilds[0]!.channels.find((c) => c.name === 'rules')!.id;
  const port = await freePort();
  const names = { exchange: uniqueName('st_gw'), send: uniqueName('st_send'), prefix: `${uniqueName('st_state')}:` };
  const { path } = writeTestConfig({
    'discord_auth.api_url': `${simUrl}/api`, 'meta.amqp_url': amqpUrl, 'proxy.port': port, 'proxy.session_key_prefix': `${names.prefix}s:`,
    'proxy.amqp.enabled': true, 'proxy.amqp.exchange': names.exchange, 'proxy.amqp.send_queue': names.send,
    'proxy.log_channel': logChannel, 'proxy.log_guild_channel': logChannel,
    'proxy.state.enabled': true, 'proxy.state.prefix': names.prefix, 'proxy.state.member_ttl_seconds': 4, 'proxy.state.message_ttl_seconds': 4,
  });
  const proxy = start(['proxy', '--config', path]);
  await proxy.waitFor(/"msg":"proxy listening/);
  const proxyUrl = `http://127.0.0.1:${port}`;
  await waitUntil('shards ready', async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready'));
  return { sim, simUrl, proxy, proxyUrl, names, guilds, logChannel };
}

/** A plain amqplib consumer on its own queue bound to the exchange with `key`. */
async function consumer(url: string, exchange: string, key: string, queue = uniqueName('st_q')) {
  const connection: ChannelModel = await amqp.connect(url);
  connection.on('error', () => {}); // a broker stopped by the test
  const channel: Channel = await connection.createChannel();
  channel.on('error', () => {});
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, key);
  const received: Body[] = [];
  await channel.consume(queue, (msg) => {
    if (!msg) return;
    received.push(JSON.parse(msg.content.toString()));
    channel.ack(msg);
  });
  return { connection, channel, queue, received };
}

describe('proxy events to RabbitMQ and the Redis state cache', () => {
  let s: Awaited<ReturnType<typeof stack>>;
  let redis: Redis;
  let admin: ChannelModel;
  let messages: Awaited<ReturnType<typeof consumer>>;
  let all: Awaited<ReturnType<typeof consumer>>;
  const say = (g: (typeof s.guilds)[number], content: string) =>
    fetch(`${s.simUrl}/_sim/guilds/${g.id}/channels/${g.channels.find((c) => c.name === 'general')!.id}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content }) }).then((r) => r.json() as Promise<{ id: string; channel_id: string }>);

  before(async () => {
    s = await stack(AMQP_URL);
    redis = new Redis(REDIS_URL);
    messages = await consumer(AMQP_URL, s.names.exchange, 'MESSAGE_CREATE');
    all = await consumer(AMQP_URL, s.names.exchange, '#');
    admin = await amqp.connect(AMQP_URL);
  });

  after(async () => {
    await s?.proxy.stop();
    await s?.sim.stop();
    const ch = await admin.createChannel();
    for (const q of [messages.queue, all.queue, `${s.names.exchange}.recv`, s.names.send, `${s.names.send}.retry`, `${s.names.send}.dlq`]) await ch.deleteQueue(q);
    await ch.deleteExchange(s.names.exchange);
    await admin.close();
    await messages.connection.close();
    await all.connection.close();
    const keys = await redis.keys(`${s.names.prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('delivers every posted message to a MESSAGE_CREATE consumer, in order per shard, with shard and s', async () => {
    const byShard = new Map<number, string[]>();
    for (let i = 0; i < 60; i++) {
      const g = s.guilds[i % s.guilds.length]!;
      await say(g, `m${i}`);
      byShard.set(g.shard, [...(byShard.get(g.shard) ?? []), `m${i}`]);
    }
    await waitUntil('60 messages', () => messages.received.length >= 60);
    for (const [shard, expected] of byShard) {
      const got = messages.received.filter((b) => b.shard === shard);
      assert.deepEqual(got.map((b) => b.d.content), expected);
      const seqs = got.map((b) => b.s);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq increases');
      for (const b of got) assert.equal(b.t, 'MESSAGE_CREATE');
    }
  });

  it('fills the cache with twilight-dispatch keys after GUILD_CREATE', async () => {
    const g = s.guilds[0]!;
    const p = s.names.prefix;
    assert.equal(JSON.parse((await redis.get(`${p}bot_user`))!).id, DEFAULT_APP_ID);
    assert.equal(JSON.parse((await redis.get(`${p}guild:${g.id}`))!).id, g.id);
    for (const c of g.channels) assert.ok(await redis.exists(`${p}channel:${g.id}:${c.id}`), `channel ${c.name}`);
    const state = (await (await fetch(`${s.simUrl}/_sim/guilds/${g.id}/state`)).json()) as { roles: { id: string }[]; members: { user: { id: string } }[] };
    for (const r of state.roles) assert.ok(await redis.exists(`${p}role:${g.id}:${r.id}`));
    for (const m of state.members) assert.ok(await redis.exists(`${p}member:${g.id}:${m.user.id}`));
    assert.ok((await redis.ttl(`${p}member:${g.id}:${state.members[0]!.user.id}`)) > 0, 'members expire');
  });

  it('follows CHANNEL_UPDATE, GUILD_ROLE_DELETE and MESSAGE_UPDATE/DELETE, with old', async () => {
    const g = s.guilds[1]!;
    const p = s.names.prefix;
    const api = `${s.simUrl}/api/v10`;
    const auth = { authorization: `Bot ${DEFAULT_TOKEN}`, ...json };
    const channel = g.channels.find((c) => c.name === 'general')!;
    await fetch(`${api}/channels/${channel.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ topic: 'cached topic' }) });
    const role = (await (await fetch(`${api}/guilds/${g.id}/roles`, { method: 'POST', headers: auth, body: '{"name":"temp"}' })).json()) as { id: string };
    await waitUntil('role cached', async () => (await redis.exists(`${p}role:${g.id}:${role.id}`)) === 1);
    await fetch(`${api}/guilds/${g.id}/roles/${role.id}`, { method: 'DELETE', headers: auth });
    const message = await say(g, 'original text');
    await waitUntil('message cached', async () => (await redis.exists(`${p}message:${message.channel_id}:${message.id}`)) === 1);
    const path = `${s.simUrl}/_sim/guilds/${g.id}/channels/${message.channel_id}/messages/${message.id}`;
    await fetch(path, { method: 'PATCH', headers: json, body: '{"content":"edited text"}' });
    await waitUntil('update seen', () => all.received.some((b) => b.t === 'MESSAGE_UPDATE' && b.d.id === message.id));
    assert.equal(JSON.parse((await redis.get(`${p}message:${message.channel_id}:${message.id}`))!).content, 'edited text');
    await fetch(path, { method: 'DELETE' });
    await waitUntil('delete seen', () => all.received.some((b) => b.t === 'MESSAGE_DELETE' && b.d.id === message.id));

    assert.equal(JSON.parse((await redis.get(`${p}channel:${g.id}:${channel.id}`))!).topic, 'cached topic');
    assert.equal(await redis.exists(`${p}role:${g.id}:${role.id}`), 0);
    assert.equal(await redis.exists(`${p}message:${message.channel_id}:${message.id}`), 0);
    const update = all.received.find((b) => b.t === 'MESSAGE_UPDATE' && b.d.id === message.id)!;
    assert.equal(update.old?.content, 'original text');
    const deleted = all.received.find((b) => b.t === 'MESSAGE_DELETE' && b.d.id === message.id)!;
    assert.equal(deleted.old?.content, 'edited text');
    // Guild entities' `old` comes from the state the proxy serves bots their GUILD_CREATEs from.
    const channelUpdate = all.received.find((b) => b.t === 'CHANNEL_UPDATE' && b.d.id === channel.id)!;
    assert.equal(channelUpdate.old?.topic, 'General chat');
    const roleDelete = all.received.find((b) => b.t === 'GUILD_ROLE_DELETE' && b.d.role_id === role.id)!;
    assert.equal(roleDelete.old?.name, 'temp');
  });

  it('expires cached messages with their TTL', async () => {
    const g = s.guilds[2]!;
    const message = await say(g, 'short-lived');
    const key = `${s.names.prefix}message:${message.channel_id}:${message.id}`;
    await waitUntil('cached', async () => (await redis.exists(key)) === 1);
    await waitUntil('expired', async () => (await redis.exists(key)) === 0, 8_000);
  });

  it('takes commands from gateway.send: op 0 presence, op 1 reconnect; malformed ones are rejected', async () => {
    const ch = await admin.createChannel();
    const send = (body: unknown) => ch.sendToQueue(s.names.send, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    const bad = ['not json', '{}', '{"op":2,"shard":0}', '{"op":0}', '{"op":0,"shard":-1,"data":{"op":3,"d":{}}}', '{"op":0,"shard":0,"data":{"op":2,"d":{}}}',
      '{"op":0,"shard":0}', '{"op":1,"shard":"0"}', '{"op":1,"shard":99}', '[]'];
    for (const b of bad) send(b);
    send({ op: 0, shard: 0, data: { op: 3, d: { since: null, activities: [{ name: 'from amqp', type: 0 }], status: 'dnd', afk: false } } });
    await waitUntil('presence in the sim', () => all.received.some((b) => b.t === 'PRESENCE_UPDATE' && b.d.user?.id === DEFAULT_APP_ID && b.d.status === 'dnd'));
    const before = ((await (await fetch(`${s.simUrl}/_sim/stats`)).json()) as { shards: Record<string, { resumes: number }> }).shards;
    send({ op: 1, shard: 1 });
    await waitUntil('shard 1 resumed', async () => ((await (await fetch(`${s.simUrl}/_sim/stats`)).json()) as { shards: Record<string, { resumes: number }> }).shards['1']!.resumes === before['1']!.resumes + 1);
    const queue = await ch.checkQueue(s.names.send);
    assert.equal(queue.messageCount, 0, 'every command was acked or rejected');
    assert.equal(s.proxy.output().split('\n').filter((l) => l.includes('rejected a gateway.send message')).length, bad.length);
    await ch.close();
  });

  it('posts shard status and guild joins to the log channels, batched', async () => {
    const created = (await (await fetch(`${s.simUrl}/_sim/guilds`, { method: 'POST', headers: json, body: '{"name":"Fresh Guild"}' })).json()) as { id: string };
    const logged = async () => {
      const state = (await (await fetch(`${s.simUrl}/_sim/guilds/${s.guilds[0]!.id}/state`)).json()) as { messages: Record<string, { content: string }[]> };
      return (state.messages[s.logChannel] ?? []).map((m) => m.content).join('\n');
    };
    await waitUntil('status lines posted', async () => {
      const text = await logged();
      return /Shard 0: ready/.test(text) && text.includes(`Joined Fresh Guild (${created.id})`);
    }, 15_000);
  });

  it('exposes twilight-dispatch metric names with matching values and /healthcheck', async () => {
    let text = '';
    const value = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    const messagesOnQueue = () => all.received.filter((b) => b.t === 'MESSAGE_CREATE').length;
    // The status log may still be posting: compare once the queue caught up with the counter.
    await waitUntil('metrics match the queue', async () => {
      text = await (await fetch(`${s.proxyUrl}/metrics`)).text();
      return value(/^gateway_events\{type="MESSAGE_CREATE"[^}]*\} (\d+)/gm) === messagesOnQueue();
    }, 10_000);
    assert.ok(messagesOnQueue() >= 60);
    assert.equal(value(/^gateway_shards\S* (\d+)/gm), 2);
    const guildCount = ((await (await fetch(`${s.simUrl}/_sim/guilds`)).json()) as unknown[]).length;
    assert.equal(value(/^state_guilds\S* (\d+)/gm), guildCount);
    for (const name of ['gateway_statuses', 'gateway_latencies', 'state_channels', 'state_messages', 'state_roles', 'state_emojis', 'state_members', 'state_presences', 'state_voices']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
    }
    assert.deepEqual(await (await fetch(`${s.proxyUrl}/healthcheck`)).json(), { status: 'OK' });
  });
});

describe('proxy events survive a RabbitMQ outage', () => {
  it('a broker paused during a burst, killed and down for 30 s: every event arrives, in order, and publishing goes on', async () => {
    const rabbit = await privateRabbit();
    let s: Awaited<ReturnType<typeof stack>> | undefined;
    let c: Awaited<ReturnType<typeof consumer>> | undefined;
    try {
      await rabbit.start();
      s = await stack(rabbit.url);
      c = await consumer(rabbit.url, s.names.exchange, 'MESSAGE_CREATE');
      const g = s.guilds[0]!;
      const simUrl = s.simUrl;
      const post = (content: string) => fetch(`${simUrl}/_sim/guilds/${g.id}/channels/${g.channels.find((x) => x.name === 'general')!.id}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content }) });
      const burst = async (count: number) => {
        assert.equal((await fetch(`${simUrl}/_sim/burst`, { method: 'POST', headers: json, body: JSON.stringify({ count, guild_id: g.id }) })).status, 200);
        return count;
      };
      // Unique events by message id (a reconnect may redeliver); the first copy keeps the order.
      // The bot's own messages are the status log's lines about the outage: not counted.
      const firsts = new Map<string, Body>();
      let queue = c.queue;
      const collect = () => {
        for (const b of c!.received.splice(0)) if (b.d.author?.id !== DEFAULT_APP_ID && !firsts.has(b.d.id as string)) firsts.set(b.d.id as string, b);
      };
      for (let i = 0; i < 50; i++) await post(`before ${i}`);
      await waitUntil('first 50', () => (collect(), firsts.size >= 50));

      // The broker stops reading mid-burst: unconfirmed events pile up in the socket; then it dies.
      rabbit.pause();
      let expected = 50 + (await burst(3_000));
      await sleep(2_000);
      rabbit.kill();
      const downSince = Date.now();
      let i = 0;
      while (Date.now() - downSince < 30_000) {
        await post(`during ${i++}`);
        if (i % 100 === 0) expected += await burst(500);
        await sleep(50);
      }
      expected += i;
      await rabbit.start();
      // Same durable queue: its binding survived; the proxy republishes what it buffered.
      c = await waitFor('consumer back', () => consumer(rabbit.url, s!.names.exchange, 'MESSAGE_CREATE', queue).catch(() => undefined));
      queue = c.queue;
      await waitUntil('every event of the burst and the outage', () => (collect(), firsts.size >= expected), 120_000);
      assert.equal(firsts.size, expected);
      assert.ok(i > 100, `events were sent during the outage (${i})`);
      const seqs = [...firsts.values()].map((b) => b.s);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
      const metrics = await (await fetch(`${s.proxyUrl}/metrics`)).text();
      assert.match(metrics, /^proxy_amqp_dropped_total(\{[^}]*\})? 0$/m);
      assert.match(metrics, /^proxy_amqp_connected(\{[^}]*\})? 1$/m);
      await post('after');
      await waitUntil('publishing goes on', () => (collect(), [...firsts.values()].some((b) => b.d.content === 'after')));
    } finally {
      await c?.connection.close().catch(() => {});
      await s?.proxy.stop();
      await s?.sim.stop();
      await rabbit.remove();
    }
  });
});

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(500);
  }
}
