// `splashtail webserver`: the API and website plus, unless clusterer.enabled is false, the
// clusterer that runs the bot clusters (then `splashtail bot` hosts it and the API asks it over IPC).
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../internal/config';
import { createPool, ensureDatabase } from '../internal/db/pool';
import { migrate } from '../internal/db/migrate';
import { IpcBus } from '../internal/ipc/bus';
import { startClusterer } from '../internal/ipc/from-config';
import { createLogger } from '../internal/log';
import { createRedis } from '../internal/redis';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { bootstrapCommands } from '../bot/bootstrap-commands';
import { type ClustersView, buildApi } from './app';
import { ipcControl } from './cluster-control';
import { remoteClusters } from './remote-clusters';

export async function runWebserver(config: Config, options: { configPath: string; env?: string }): Promise<void> {
  const logger = createLogger('webserver');
  const registry = createRegistry('webserver');
  const shutdown = new Shutdown(logger, 30_000);
  shutdown.listen();

  if (process.env.BOOTSTRAP_COMMANDS === 'true') await bootstrapCommands(config, logger);

  // The clusterer first: a token Discord refuses ends the start (exit 2) before anything else.
  const clusters = config.clusterer.enabled ? await hostedClusters(config, options, logger, registry, shutdown) : await remoteClusters({ config, logger, shutdown });
  // API tokens and the bot modules' settings live in Postgres.
  await ensureDatabase(config.meta.postgres_url);
  const pool = createPool(config.meta.postgres_url, logger, { max: 5 });
  shutdown.add('postgres', () => pool.end());
  const applied = await migrate(pool);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const redis = createRedis(config.meta.redis_url, logger, 'webserver');
  shutdown.add('redis', () => redis.quit());
  const app = await buildApi({ config, logger, registry, redis, pool, clusters });
  await app.listen({ host: config.meta.host, port: config.meta.port });
  shutdown.add('http', () => app.close());
  logger.info({ url: `http://${config.meta.host}:${config.meta.port}` }, 'webserver listening');
}

async function hostedClusters(config: Config, options: { configPath: string; env?: string }, logger: Logger, registry: Registry, shutdown: Shutdown): Promise<ClustersView> {
  const clusterer = await startClusterer({ config, configPath: options.configPath, env: options.env, logger, registry, shutdown });
  // Actions go over IPC even to the clusterer in this process: one path whoever hosts it.
  const bus = new IpcBus({ redisUrl: config.meta.redis_url, channel: config.clusterer.redis_channel, logger, name: 'webserver-ipc' });
  await bus.start();
  shutdown.add('webserver ipc', () => bus.close());
  return { statuses: () => clusterer.statuses(), actions: (limit) => clusterer.log.list(limit), control: ipcControl(bus) };
}
