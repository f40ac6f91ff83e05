// `splashtail jobs`: the API, the runner and the expiry cleanup, against Postgres and object storage.
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Config } from '../internal/config';
import { migrate } from '../internal/db/migrate';
import { createPool, ensureDatabase } from '../internal/db/pool';
import { createLogger } from '../internal/log';
import { DiscordOAuth } from '../internal/member-restore/discord-oauth';
import { TokenCipher } from '../internal/member-restore/token-cipher';
import { MemberRestoreStore } from '../internal/member-restore/token-store';
import { createRegistry } from '../internal/metrics';
import { Shutdown } from '../internal/shutdown';
import { buildJobsApp } from './app';
import { guildOwnerLookup } from './guild-owner';
import { TaskRepository } from './repository';
import { Runner } from './runner';
import { LocalStorage, S3Storage } from './storage';
import { createBackup } from './tasks/backup-create';
import { restoreBackup } from './tasks/backup-restore';
import { memberRestore } from './tasks/member-restore';

export async function runJobs(config: Config): Promise<void> {
  const logger = createLogger('jobs');
  const registry = createRegistry('jobs');
  const shutdown = new Shutdown(logger, 30_000);
  shutdown.listen();

  await ensureDatabase(config.meta.postgres_url);
  const pool = createPool(config.meta.postgres_url, logger);
  shutdown.add('postgres', () => pool.end());
  const applied = await migrate(pool);
  if (applied.length) logger.info({ applied }, 'migrations applied');

  const repo = new TaskRepository(pool);
  const os = config.object_storage;
  const storage =
    os.type === 's3'
      ? new S3Storage(await import('@aws-sdk/client-s3'), { endpoint: os.endpoint!, bucket: os.bucket!, region: os.region, accessKey: os.access_key, secretKey: os.secret_key })
      : new LocalStorage(os.path);
  const finished = new Counter({ name: 'jobs_tasks_finished_total', help: 'Tasks finished', labelNames: ['name', 'state'], registers: [registry] });
  const duration = new Histogram({ name: 'jobs_task_duration_seconds', help: 'Task run time', labelNames: ['name'], registers: [registry], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800] });
  new Gauge({
    name: 'jobs_tasks', help: 'Tasks by state', labelNames: ['state'], registers: [registry],
    async collect() {
      // With Postgres down /metrics still answers, with the last counts seen.
      const counts = await repo.countByState().catch(() => ({}));
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });

  const workerId = `${hostname()}:${process.pid}`;
  const oauth = new DiscordOAuth({ api: config.discord_auth.api_url, clientId: config.discord_auth.client_id, clientSecret: config.discord_auth.client_secret });
  const restoreStore = config.meta.oauth_token_key ? new MemberRestoreStore(pool, new TokenCipher(config.meta.oauth_token_key), oauth) : undefined;
  const discord = { api: config.discord_auth.api_url, token: config.discord_auth.token, timeoutSeconds: config.jobs.rest_timeout_seconds };
  const runner = new Runner({
    repo, workerId, storage, logger, discord,
    cdn: config.sites.cdn ?? 'https://cdn.discordapp.com',
    handlers: { guild_create_backup: createBackup, guild_restore_backup: restoreBackup, guild_member_restore: memberRestore(restoreStore) },
    concurrency: config.jobs.concurrency,
    leaseSeconds: config.jobs.lease_seconds,
    onFinished: (task, state, ms) => {
      finished.inc({ name: task.task_name, state });
      duration.observe({ name: task.task_name }, ms / 1000);
    },
  });

  const app = await buildJobsApp({
    logger, registry, repo, storage,
    secrets: config.meta.jobserver_secrets,
    signingSecret: config.object_storage.signing_secret,
    publicUrl: config.meta.jobserver_url,
    onCreated: () => runner.poke(),
    guildOwner: guildOwnerLookup(discord),
    health: async () => ({ worker: workerId, tasks: await repo.countByState() }),
  });
  await app.listen({ host: '127.0.0.1', port: config.meta.jobserver_port });
  runner.start();
  shutdown.add('runner', () => runner.stop());
  shutdown.add('http', () => app.close());

  const cleanup = setInterval(() => {
    void repo.deleteExpired().then(async (expired) => {
      for (const task of expired) if (task.output) await storage.delete(task.output.filename);
      if (expired.length) logger.info({ deleted: expired.length }, 'expired tasks deleted');
    }, (err: Error) => logger.warn({ err: err.message }, 'expiry cleanup failed'));
  }, 60_000);
  cleanup.unref();
  shutdown.add('cleanup', () => clearInterval(cleanup));
  logger.info({ url: `http://127.0.0.1:${config.meta.jobserver_port}`, worker: workerId }, 'jobserver listening');
}
