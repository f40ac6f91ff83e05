// Events/s from the sim through the proxy into RabbitMQ (publisher confirms), read by an
// amqplib consumer, vs a bare amqplib confirm publisher in the same run; and the Redis memory
// the state cache takes per 1,000 guilds vs the JSON size of their GUILD_CREATE payloads.
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { AMQP_URL, REDIS_URL } from '../test/helpers/services';
import { report, startProxy, startSim, uniqueName, waitProxyReady } from './lib';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);

async function consume(exchange: string, key: string, count: number): Promise<{ done: Promise<number>; close: () => Promise<void> }> {
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, key);
  await channel.prefetch(1000);
  let received = 0;
  const done = new Promise<number>((resolve) =>
    void channel.consume(queue, (msg) => {
      if (!msg) return;
      channel.ack(msg);
      if (++received === count) resolve(Date.now());
    }),
  );
  return { done, close: async () => { await channel.deleteExchange(exchange).catch(() => {}); await connection.close(); } };
}

async function viaProxy(): Promise<number> {
  const { sim, url: simUrl } = await startSim(['--shards', '1', '--guilds', '2', '--identify-interval-ms', '0']);
  const exchange = uniqueName('bench_gw');
  const { proxy, url } = await startProxy(simUrl, { 'proxy.amqp.enabled': true, 'proxy.amqp.exchange': exchange, 'proxy.amqp.default_queue': false, 'proxy.amqp.send_queue': uniqueName('bench_send') });
  await waitProxyReady(url, 1);
  const consumer = await consume(exchange, 'MESSAGE_CREATE', EVENTS);
  const started = Date.now();
  await fetch(`${simUrl}/_sim/burst`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: EVENTS }) });
  const finished = await consumer.done;
  await consumer.close();
  await proxy.stop();
  await sim.stop();
  return EVENTS / ((finished - started) / 1000);
}

async function barePublisher(): Promise<number> {
  const exchange = uniqueName('bench_bare');
  const consumer = await consume(exchange, 'MESSAGE_CREATE', EVENTS);
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const body = Buffer.from(JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: 1, shard: 0, d: { id: '1', channel_id: '2', guild_id: '3', content: String(Date.now()), author: { id: '4', username: 'ada' } } }));
  const started = Date.now();
  for (let i = 0; i < EVENTS; i += 500) {
    for (let k = i; k < Math.min(EVENTS, i + 500); k++) channel.publish(exchange, 'MESSAGE_CREATE', body, { persistent: true });
    await channel.waitForConfirms();
  }
  const finished = await consumer.done;
  await connection.close();
  await consumer.close();
  return EVENTS / ((finished - started) / 1000);
}

async function redisPerThousandGuilds(): Promise<{ redisBytes: number; jsonBytes: number }> {
  const { sim, url: simUrl } = await startSim(['--shards', '1', '--guilds', '1000', '--identify-interval-ms', '0']);
  const prefix = `${uniqueName('bench_state')}:`;
  const { proxy, url } = await startProxy(simUrl, { 'proxy.state.enabled': true, 'proxy.state.prefix': prefix, 'proxy.state.presences': true });
  await waitProxyReady(url, 1);
  await new Promise((r) => setTimeout(r, 2_000));
  const redis = new Redis(REDIS_URL);
  let redisBytes = 0;
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.memory('USAGE', key);
    for (const [, bytes] of (await pipeline.exec()) ?? []) redisBytes += Number(bytes ?? 0);
  }
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
  const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string }[];
  let jsonBytes = 0;
  for (const g of guilds) jsonBytes += (await (await fetch(`${simUrl}/_sim/guilds/${g.id}/state`)).text()).length;
  await proxy.stop();
  await sim.stop();
  return { redisBytes, jsonBytes };
}

async function main() {
  const proxied = await viaProxy();
  const bare = await barePublisher();
  report('events into RabbitMQ via proxy (confirms)', `${Math.round(proxied)} events/s`, `bare amqplib confirm publisher ${Math.round(bare)} events/s`);
  const { redisBytes, jsonBytes } = await redisPerThousandGuilds();
  report('Redis memory per 1,000 cached guilds', `${(redisBytes / 2 ** 20).toFixed(1)} MiB`, `sim state JSON of the same guilds ${(jsonBytes / 2 ** 20).toFixed(1)} MiB (incl. messages)`);
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
