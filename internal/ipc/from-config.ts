// Builds and starts a clusterer from config.yaml: used by `splashtail webserver` and by
// `splashtail bot` without --cluster.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Config, tokenRefused } from '../config';
import type { Shutdown } from '../shutdown';
import { ActionLog } from './action-log';
import { IpcBus } from './bus';
import { resolveShardCount } from './cluster-map';
import { executableSpawner } from './cluster-process';
import { Clusterer } from './clusterer';

/**
 * Exit status of `restartproc` (EX_TEMPFAIL): non-zero, so systemd restarts the process under
 * Restart=on-failure too, and not 2, which the units reserve for a config error (not restarted).
 */
export const RESTART_EXIT_CODE = 75;

export interface ClustererHostOptions {
  config: Config;
  configPath: string;
  env?: string;
  logger: Logger;
  registry: Registry;
  shutdown: Shutdown;
}

export async function startClusterer({ config, configPath, env, logger, registry, shutdown }: ClustererHostOptions): Promise<Clusterer> {
  const c = config.clusterer;
  const bus = new IpcBus({ redisUrl: config.meta.redis_url, channel: c.redis_channel, logger, name: 'clusterer' });
  shutdown.add('clusterer redis', () => bus.close());
  const clusterer = new Clusterer({
    bus,
    actionLog: new ActionLog(bus.pub, `${c.redis_channel}:action_logs`, c.action_log_max),
    logger: logger.child({ component: 'clusterer' }),
    spawn: executableSpawner({ configPath, env }),
    resolveShardCount: () =>
      withRetries(logger, () => resolveShardCount({
        apiUrl: config.discord_auth.api_url,
        token: config.discord_auth.token,
        fixedShardCount: c.fixed_shard_count,
        minimumSafeSessionsRemaining: c.minimum_safe_sessions_remaining,
        logger,
      })),
    perCluster: c.per_cluster,
    names: c.names,
    pingIntervalMs: c.ping_interval,
    pingTimeoutMs: c.ping_timeout,
    startNextDelayMs: c.cluster_start_next_delay,
    registry,
    onShutdownRequested: () => {
      logger.info('IPC shutdown: exiting');
      void shutdown.run().then(() => process.exit(0));
    },
    onRestartRequested: () => {
      logger.info({ exit_code: RESTART_EXIT_CODE }, 'IPC restartproc: exiting for the service manager to restart us');
      void shutdown.run().then(() => process.exit(RESTART_EXIT_CODE));
    },
  });
  // Registered after the bus, so it runs before the bus closes: clusters first, then Redis.
  shutdown.add('clusters', () => clusterer.stop());
  await clusterer.start();
  // SIGHUP: a hot rolling restart of every cluster, as splashtail's webserver did.
  process.on('SIGHUP', () => clusterer.requestRollingRestart('SIGHUP'));
  return clusterer;
}

/** Discord (or the sim) may not be reachable yet: retry for about 30 s, but not a rejected token. */
async function withRetries<T>(logger: Logger, fn: () => Promise<T>, attempts = 15): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (attempt >= attempts || status === 401 || status === 403) throw tokenRefused(err) ?? err;
      logger.warn({ err: (err as Error).message, attempt }, 'GET /gateway/bot failed; retrying');
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}
