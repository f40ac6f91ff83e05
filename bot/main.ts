// `splashtail bot`: with --cluster, one cluster process; without, the clusterer alone.
import type { Config } from '../internal/config';
import { startClusterer } from '../internal/ipc/from-config';
import { createLogger } from '../internal/log';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { bootstrapCommands } from './bootstrap-commands';
import { runCluster } from './cluster';
import type { ClusterIdentity } from './modules/types';

export async function runBotCluster(config: Config, identity: ClusterIdentity, channel: string): Promise<void> {
  const logger = createLogger('bot').child({ cluster_id: identity.id, cluster_name: identity.name });
  const registry = createRegistry('bot');
  const shutdown = new Shutdown(logger, 15_000);
  shutdown.listen();
  watchParent(logger, shutdown);
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

/**
 * A cluster started by a clusterer exits when that clusterer is gone (killed with -9, say), so
 * no orphan keeps holding shards that the next clusterer will start again.
 */
function watchParent(logger: ReturnType<typeof createLogger>, shutdown: Shutdown): void {
  const parent = Number(process.env.SPLASHTAIL_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 1) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      clearInterval(timer);
      logger.warn({ parent }, 'clusterer process is gone; shutting down');
      void shutdown.run().then(() => process.exit(0));
    }
  }, 1_000);
  timer.unref();
}
