// `splashtail webserver`: the API plus the clusterer that runs the bot clusters.
import type { Config } from '../internal/config';
import { startClusterer } from '../internal/ipc/from-config';
import { createLogger } from '../internal/log';
import { createRedis } from '../internal/redis';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { bootstrapCommands } from '../bot/bootstrap-commands';
import { buildApi } from './app';

export async function runWebserver(config: Config, options: { configPath: string; env?: string }): Promise<void> {
  const logger = createLogger('webserver');
  const registry = createRegistry('webserver');
  const shutdown = new Shutdown(logger, 30_000);
  shutdown.listen();

  if (process.env.BOOTSTRAP_COMMANDS === 'true') await bootstrapCommands(config, logger);

  const clusterer = await startClusterer({ config, configPath: options.configPath, env: options.env, logger, registry, shutdown });
  const redis = createRedis(config.meta.redis_url, logger, 'webserver');
  shutdown.add('redis', () => redis.quit());
  const app = buildApi({
    config,
    logger,
    registry,
    redis,
    clusters: { statuses: () => clusterer.statuses(), actions: (limit) => clusterer.log.list(limit) },
  });
  await app.listen({ host: config.meta.host, port: config.meta.port });
  shutdown.add('http', () => app.close());
  logger.info({ url: `http://${config.meta.host}:${config.meta.port}` }, 'webserver listening');
}
