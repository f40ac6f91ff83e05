import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { withCommonOptions } from './options';

interface SimFlags {
  config: string;
  env?: string;
  port?: string;
  host?: string;
  token?: string;
  guilds?: string;
  shards?: string;
  maxConcurrency?: string;
  identifyIntervalMs?: string;
  heartbeatIntervalMs?: string;
  seed?: string;
  profile?: string;
  world?: string;
  rate?: string;
  restLimit?: string;
  privilegedIntents?: string;
  interactionDeadlineMs?: string;
  sessionStartLimit?: string;
}

function int(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`splashtail sim: --${name} must be an integer >= ${min}, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

export function simCommand(): Command {
  return withCommonOptions(new Command('sim').description('a local Discord (gateway + REST + OAuth2) for development and tests'))
    .option('--port <port>', 'port to listen on (default 3219)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--token <token>', 'the bot token the sim accepts (default: the one in config.yaml.example)')
    .option('--guilds <n>', 'number of generated guilds (default 10)')
    .option('--shards <n>', 'recommended shard count from /gateway/bot (default 4)')
    .option('--max-concurrency <n>', 'identify max_concurrency (default 1)')
    .option('--identify-interval-ms <ms>', 'identify interval per concurrency bucket (default 5000)')
    .option('--session-start-limit <n>', "IDENTIFYs allowed per 24 h (session_start_limit.total; default 1000, Discord's)")
    .option('--heartbeat-interval-ms <ms>', 'heartbeat_interval sent in HELLO (default 41250)')
    .option('--seed <n>', 'seed of the generated world (default 1)')
    .option('--profile <small|realistic>', 'generated world: small (default; alike guilds) or realistic (guild sizes and contents like a large bot sees)')
    .option('--world <file.json>', 'load the world from a JSON file instead of generating it')
    .option('--rate <events/s>', 'generate a realistic mix of dispatches at this rate')
    .option('--privileged-intents <bits>', 'privileged intents the application may use (default all: 33026); others close with 4014')
    .option('--rest-limit <n>', 'REST requests per route bucket per second (and global per second; default 50)')
    .option('--interaction-deadline-ms <ms>', "time to answer an interaction before 10062 (default 3000, Discord's; for tests on slow machines)")
    .action(async (flags: SimFlags) => {
      const [{ loadConfigOrExit }, { withoutBotPrefix }, { createLogger }, { Shutdown }, { createSimServer }, { DEFAULT_TOKEN }] = await Promise.all([
        import('./common'),
        import('../internal/config'),
        import('../internal/log'),
        import('../internal/shutdown'),
        import('../internal/sim/server'),
        import('../internal/sim/world'),
      ]);
      // The sim runs without a config file; when there is one, its `sim` section gives defaults.
      const fromConfig = flags.config !== './config.yaml' || existsSync(flags.config) ? loadConfigOrExit(flags) : undefined;
      const base = fromConfig?.sim;
      const logger = createLogger('sim');
      const restLimit = int('rest-limit', flags.restLimit, 50, 1);
      const profile = flags.profile ?? 'small';
      if (profile !== 'small' && profile !== 'realistic') {
        process.stderr.write(`splashtail sim: --profile must be "small" or "realistic", got "${profile}"\n`);
        process.exit(2);
      }
      const server = await createSimServer({
        host: flags.host ?? base?.host ?? '127.0.0.1',
        port: int('port', flags.port, base?.port ?? 3219),
        token: flags.token !== undefined ? withoutBotPrefix(flags.token) : (fromConfig?.discord_auth.token ?? DEFAULT_TOKEN),
        guilds: int('guilds', flags.guilds, base?.guilds ?? 10),
        shards: int('shards', flags.shards, base?.shards ?? 4, 1),
        maxConcurrency: int('max-concurrency', flags.maxConcurrency, base?.max_concurrency ?? 1, 1),
        identifyIntervalMs: int('identify-interval-ms', flags.identifyIntervalMs, base?.identify_interval_ms ?? 5000),
        heartbeatIntervalMs: int('heartbeat-interval-ms', flags.heartbeatIntervalMs, 41_250, 100),
        sessionStartLimit: int('session-start-limit', flags.sessionStartLimit, 1000, 1),
        seed: int('seed', flags.seed, base?.seed ?? 1),
        profile,
        worldFile: flags.world,
        rate: flags.rate === undefined ? undefined : int('rate', flags.rate, 0),
        allowedPrivilegedIntents: flags.privilegedIntents === undefined ? undefined : int('privileged-intents', flags.privilegedIntents, 0),
        rateLimits: { perBucket: restLimit, windowMs: 1_000, globalPerSecond: restLimit },
        interactionDeadlines: flags.interactionDeadlineMs === undefined ? undefined : { responseMs: int('interaction-deadline-ms', flags.interactionDeadlineMs, 3000, 1) },
        logger,
      });
      const shutdown = new Shutdown(logger);
      shutdown.add('sim', () => server.close());
      shutdown.listen();
      process.stdout.write(`sim listening on ${server.url}\n`);
    });
}
