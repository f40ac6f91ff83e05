// `splashtail mirror`: one mirror node. Any number run against the same RabbitMQ and Postgres;
// RabbitMQ gives each partition to one of them at a time (README: Mirror).
import { REST } from '@discordjs/rest';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Config } from '../internal/config';
import { migrate } from '../internal/db/migrate';
import { createPool, ensureDatabase } from '../internal/db/pool';
import { createHttpService } from '../internal/http/service';
import { createLogger } from '../internal/log';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { Mirrorer } from './mirrorer';
import { MirrorNode } from './node';
import { MirrorRepository } from './repository';

const DISCORD_EPOCH = 1420070400000n;

export async function runMirror(config: Config): Promise<void> {
  const logger = createLogger('mirror');
  const registry = createRegistry('mirror');
  const shutdown = new Shutdown(logger, 30_000);
  shutdown.listen();
  const stopping = new AbortController();

  await ensureDatabase(config.meta.postgres_url);
  const pool = createPool(config.meta.postgres_url, logger);
  shutdown.add('postgres', () => pool.end());
  const applied = await migrate(pool);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const repo = new MirrorRepository(pool);

  const handled = new Counter({ name: 'mirror_events_total', help: 'Events handled, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [registry] });
  const sent = new Counter({ name: 'mirror_messages_sent_total', help: 'Messages posted to a target', registers: [registry] });
  const latency = new Histogram({
    name: 'mirror_latency_seconds', help: 'From the source message to its copy in a target', registers: [registry],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const rest = new REST({ api: config.discord_auth.api_url, timeout: 15_000 }).setToken(config.discord_auth.token);
  const mirrorer = new Mirrorer({
    repo, rest, logger,
    cdn: config.sites.cdn ?? 'https://cdn.discordapp.com',
    idMapTtlDays: config.mirror.id_map_ttl_days,
    signal: stopping.signal,
    onSent: (_link, sourceId) => {
      sent.inc();
      latency.observe((Date.now() - Number((BigInt(sourceId) >> 22n) + DISCORD_EPOCH)) / 1000);
    },
  });
  const node = new MirrorNode({
    url: config.meta.amqp_url, exchange: config.proxy.amqp.exchange, prefix: config.mirror.queue_prefix,
    partitions: config.mirror.partitions, prefetch: config.mirror.prefetch, logger, mirrorer, signal: stopping.signal,
    onHandled: (kind, outcome) => handled.inc({ kind, outcome }),
  });
  new Gauge({ name: 'mirror_lanes', help: 'Source channels with work in this node', registers: [registry], collect() { this.set(node.lanes.size); } });
  new Gauge({ name: 'mirror_amqp_connected', help: '1 while the node has a RabbitMQ channel', registers: [registry], collect() { this.set(node.connected ? 1 : 0); } });

  const app = createHttpService({
    logger, registry,
    health: () => {
      if (!node.connected) throw new Error('RabbitMQ not connected');
      return { lanes: node.lanes.size };
    },
  });
  await app.listen({ host: config.mirror.host, port: config.mirror.port });
  shutdown.add('http', () => app.close());

  node.start();
  shutdown.add('consumers', () => node.stop(20_000, () => stopping.abort(new Error('stopping'))));

  const cleanup = setInterval(() => {
    void repo.deleteExpired().then((n) => n && logger.info({ deleted: n }, 'expired id map rows and link codes deleted'), (err: Error) => logger.warn({ err: err.message }, 'expiry cleanup failed'));
  }, 60_000);
  cleanup.unref();
  shutdown.add('cleanup', () => clearInterval(cleanup));
  logger.info({ url: `http://${config.mirror.host}:${config.mirror.port}`, partitions: config.mirror.partitions, queues: `${config.mirror.queue_prefix}.*` }, 'mirror listening');
}
