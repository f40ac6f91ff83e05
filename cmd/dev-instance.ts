// One `splashtail dev` run's own names in the shared Redis and RabbitMQ: every Redis key under
// `splashtail:dev:<id>:` (proxy sessions, state cache, IPC channel, action log), its own exchange
// and queues. Two dev instances never mix, nothing lands unprefixed in the database, the event
// queue nobody consumes is capped, and stop removes it all.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import type { Config } from '../internal/config';

export interface DevInstance {
  id: string;
  redisPrefix: string;
  channel: string;
  exchange: string;
  recvQueue: string;
  sendQueue: string;
  /** SPLASHTAIL__* overrides that put every service in this instance's names. */
  env: Record<string, string>;
}

export function devInstance(config: Config): DevInstance {
  const id = config.dev.instance || randomBytes(3).toString('hex');
  const redisPrefix = `splashtail:dev:${id}:`;
  const exchange = `splashtail-dev-${id}`;
  const names = { channel: `${redisPrefix}mewld`, exchange, recvQueue: `${exchange}.recv`, sendQueue: `${exchange}.send` };
  // JSON strings are YAML strings: a value ending in ':' must not read as a mapping.
  const env = Object.fromEntries(
    Object.entries({
      SPLASHTAIL__PROXY__SESSION_KEY_PREFIX: `${redisPrefix}proxy:`,
      SPLASHTAIL__PROXY__STATE__PREFIX: `${redisPrefix}state:`,
      SPLASHTAIL__PROXY__AMQP__EXCHANGE: exchange,
      SPLASHTAIL__PROXY__AMQP__SEND_QUEUE: names.sendQueue,
      // The proxy would declare <exchange>.recv uncapped; dev declares it capped instead.
      SPLASHTAIL__PROXY__AMQP__DEFAULT_QUEUE: false,
      SPLASHTAIL__CLUSTERER__REDIS_CHANNEL: names.channel,
      SPLASHTAIL__MIRROR__QUEUE_PREFIX: `${exchange}.mirror`,
    }).map(([k, v]) => [k, JSON.stringify(v)]),
  );
  return { id, redisPrefix, ...names, env };
}

/** Declares the instance's exchange and its capped event queue (oldest events dropped beyond the cap). */
export async function declareDevQueues(config: Config, instance: DevInstance): Promise<void> {
  const connection = await amqp.connect(config.meta.amqp_url);
  try {
    const channel = await connection.createChannel();
    // The same arguments as the proxy's declaration, so both agree.
    await channel.assertExchange(instance.exchange, 'topic', { durable: true });
    await channel.assertQueue(instance.recvQueue, {
      durable: false,
      arguments: { 'x-max-length': config.dev.recv_max_events, 'x-overflow': 'drop-head' },
    });
    await channel.bindQueue(instance.recvQueue, instance.exchange, '#');
  } finally {
    await connection.close();
  }
}

/** Removes every Redis key, queue and exchange of the instance; returns what it removed. */
export async function removeDevInstance(config: Config, instance: DevInstance): Promise<{ keys: number; queues: number }> {
  const redis = new Redis(config.meta.redis_url, { maxRetriesPerRequest: 1, lazyConnect: true });
  let keys = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${instance.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) keys += await redis.unlink(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const connection = await amqp.connect(config.meta.amqp_url);
  let queues = 0;
  try {
    const channel = await connection.createChannel();
    const { sendQueue } = instance;
    const mirrorQueues = [`${instance.exchange}.mirror.in`, ...Array.from({ length: config.mirror.partitions }, (_, n) => `${instance.exchange}.mirror.p.${n}`)];
    for (const queue of [instance.recvQueue, sendQueue, `${sendQueue}.retry`, `${sendQueue}.dlq`, ...mirrorQueues]) {
      await channel.deleteQueue(queue);
      queues++;
    }
    await channel.deleteExchange(instance.exchange);
  } finally {
    await connection.close();
  }
  return { keys, queues };
}
