// Wires what other services consume (issue: twilight-dispatch parity): RabbitMQ events and
// commands, the Redis state cache, gateway info keys and twilight-dispatch's metric names.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../internal/config';
import type { Shutdown } from '../internal/shutdown';
import { CommandConsumer } from './amqp/commands';
import { EventPublisher } from './amqp/publisher';
import { Dispatcher } from './dispatch';
import { StateCache } from './state/cache';
import { StatusLog } from './status-log';
import type { Upstream } from './upstream';

interface Deps {
  redis: Redis;
  upstream: Upstream;
  shardCount: number;
  registry: Registry;
  logger: Logger;
  shutdown: Shutdown;
}

export async function startConsumers(config: Config, { redis, upstream, shardCount, registry, logger, shutdown }: Deps): Promise<Dispatcher> {
  const { amqp, state } = config.proxy;
  let publisher: EventPublisher | undefined;
  if (amqp.enabled) {
    publisher = new EventPublisher({ url: config.meta.amqp_url, exchange: amqp.exchange, defaultQueue: amqp.default_queue, bufferMax: amqp.buffer_max_events, logger, registry });
    await publisher.start();
    const commands = new CommandConsumer({
      url: config.meta.amqp_url,
      queue: amqp.send_queue,
      logger,
      registry,
      maxAttempts: amqp.send_max_attempts,
      retryDelayMs: amqp.send_retry_delay_ms,
      handler: {
        send: (shard, payload) => upstream.send(shard, payload),
        reconnect: (shard) => upstream.reconnect(shard),
        hasShard: (shard) => upstream.owned().includes(shard),
        runElsewhere: (shard) => config.proxy.shards === 'auto' && shard < shardCount,
      },
    });
    await commands.start();
    shutdown.add('amqp commands', () => commands.close());
    shutdown.add('amqp events', () => publisher!.close());
    logger.info({ exchange: amqp.exchange, send_queue: amqp.send_queue }, 'publishing gateway events to RabbitMQ');
  }
  const cache = state.enabled ? new StateCache(redis, state) : undefined;
  if (cache) {
    logger.info({ prefix: state.prefix }, 'state cache in Redis');
    const started = Date.now();
    const timer = setInterval(() => void writeGatewayInfo(redis, state.prefix, upstream, started).catch(() => {}), 1_000);
    timer.unref();
    shutdown.add('gateway info', () => clearInterval(timer));
  }

  new Gauge({ name: 'gateway_shards', help: 'Shards run by this proxy', registers: [registry], collect() { this.set(upstream.owned().length); } });
  new Gauge({
    name: 'gateway_statuses', help: 'Shards by status', labelNames: ['status'], registers: [registry],
    collect() {
      this.reset();
      for (const s of upstream.statuses()) this.inc({ status: s.status });
    },
  });
  new Gauge({
    name: 'gateway_latencies', help: 'Heartbeat latency per shard (ms)', labelNames: ['shard'], registers: [registry],
    collect() {
      for (const [shard, ms] of upstream.latency) this.set({ shard: String(shard) }, ms);
    },
  });
  const { log_channel: shardChannel, log_guild_channel: guildChannel } = config.proxy;
  const statusLog = shardChannel || guildChannel
    ? new StatusLog({ token: config.discord_auth.token, apiUrl: config.discord_auth.api_url, shardChannel, guildChannel, logger })
    : undefined;
  if (statusLog) {
    upstream.on('ready', (shard) => statusLog.shard(`Shard ${shard}: ready (identified)`));
    upstream.on('resumed', (shard) => statusLog.shard(`Shard ${shard}: resumed`));
    upstream.on('closed', (shard, code) => statusLog.shard(`Shard ${shard}: disconnected (${code})`));
    shutdown.add('status log', () => statusLog.close());
  }
  return new Dispatcher({ cache, publisher, statusLog, registry, logger });
}

/** twilight-dispatch's gateway info keys. */
async function writeGatewayInfo(redis: Redis, prefix: string, upstream: Upstream, started: number): Promise<void> {
  const statuses = upstream.statuses();
  const sessions = statuses.map((s) => {
    const info = upstream.sessionInfo(s.shard);
    return { shard: s.shard, session_id: info?.sessionId ?? null, sequence: info?.sequence ?? null, resume_url: info?.resumeURL ?? null };
  });
  await redis
    .pipeline()
    .set(`${prefix}gateway_sessions`, JSON.stringify(sessions))
    .set(`${prefix}gateway_statuses`, JSON.stringify(statuses.map((s) => ({ shard: s.shard, status: s.status, latency: s.latency }))))
    .set(`${prefix}gateway_started`, String(started))
    .set(`${prefix}gateway_shards`, String(statuses.length))
    .exec();
}
