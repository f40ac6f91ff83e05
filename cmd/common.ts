// What every subcommand's action shares: loading the config or exiting 2 with its problems.
import { type Config, ConfigError, loadConfig } from '../internal/config';
import { createLogger } from '../internal/log';

export interface CommonOptions {
  config: string;
  env?: string;
}

/** Loads the config; on problems prints one line each to stderr and exits 2 (no stack trace). */
export function loadConfigOrExit(options: CommonOptions): Config {
  try {
    const { config, warnings } = loadConfig({ path: options.config, env: options.env });
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.join('\n')}\n`);
      process.exit(2);
    }
    throw err;
  }
}


/** Runs a service; a failure to start is one line on stderr and exit 1 (2 for a config error). */
export async function runOrExit(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    exitWithError(name, err);
  }
}

/** One line per problem on stderr; exit 2 for a config error (systemd does not restart on it), else 1. */
export function exitWithError(name: string, err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.problems.map((p) => `splashtail ${name}: ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  process.stderr.write(`splashtail ${name}: ${(err as Error).message}\n`);
  process.exit(1);
}

/**
 * The last line of defence of every service. A promise rejection nobody handled is a bug but left
 * no half-done synchronous work behind: log it and go on (Node would exit, taking every cluster
 * or connection of the process with it). An uncaught exception interrupted code midway, so the
 * process state is unknown: log it and exit 1 (the clusterer, systemd or dev restarts it).
 */
export function installProcessGuards(service: string): void {
  const logger = createLogger(service);
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason : { message: String(reason) } }, 'unhandled rejection (logged; continuing)');
  });
  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ err, origin }, 'uncaught exception; exiting');
    process.exit(1);
  });
}
