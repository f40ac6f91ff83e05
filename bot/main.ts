// `splashtail bot`: with --cluster, one cluster process; without, the clusterer alone.
import type { Config } from '../internal/config';
import { startClusterer } from '../internal/ipc/from-config';
import { createLogger } from '../internal/log';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { bootstrapCommands } from './bootstrap-commands';
import type { ClusterIdentity } from './modules/types';

export async function runBotCluster(config: Config, identity: ClusterIdentity, channel: string): Promise<void> {
  const logger = createLogger('bot').child({ cluster_id: identity.id, cluster_name: identity.name });
  const registry = createRegistry('bot');
  const shutdown = new Shutdown(logger, 15_000);
  shutdown.listen();
  // Imported here: the clusterer alone (the other function) runs no discord.js client.
  const { runCluster } = await import('./cluster');
  await runCluster({ config, identity, channel, logger, registry, shutdown });
}

export async function runClustererAlone(config: Config, options: { configPath: string; env?: string }): Promise<void> {
  const logger = createLogger('clusterer');
  const registry = createRegistry('clusterer');
  const shutdown = new Shutdown(logger, 30_000);
  shutdown.listen();
  if (process.env.BOOTSTRAP_COMMANDS === 'true') await bootstrapCommands(config, logger);
  await startClusterer({ config, configPath: options.configPath, env: options.env, logger, registry, shutdown });
}
