// `splashtail proxy`: upstream shards, the downstream gateway and the REST entry point on one port.
import type { Config } from '../internal/config';
import { createHttpService } from '../internal/http/service';
import { createLogger } from '../internal/log';
import { createRegistry } from '../internal/metrics';
import { createRedis } from '../internal/redis';
import { Shutdown } from '../internal/shutdown';
import { Downstream } from './downstream';
import { GuildState } from './guild-state';
import { GuildStore } from './guild-store';
import { startConsumers } from './consumers';
import { createProxyMetrics } from './metrics';
import { restForward } from './rest-forward';
import { SessionStore } from './session-store';
import { Upstream } from './upstream';

export async function runProxy(config: Config): Promise<void> {
  const logger = createLogger('proxy');
  const registry = createRegistry('proxy');
  const metrics = createProxyMetrics(registry);
  const shutdown = new Shutdown(logger, 20_000);
  shutdown.listen();

  const redis = createRedis(config.meta.redis_url, logger, 'proxy');
  shutdown.add('redis', () => redis.quit());
  const sessions = new SessionStore(redis, `${config.proxy.session_key_prefix}sessions`, logger);
  const persisted = await sessions.load();
  shutdown.add('sessions', () => sessions.close());

  const { shards } = config.proxy;
  const upstream = new Upstream({
    token: config.discord_auth.token.replace(/^Bot\s+/i, ''),
    apiUrl: config.discord_auth.api_url,
    intents: config.proxy.intents,
    shardCount: config.proxy.shard_count || null,
    shardIds: shards === 'all' ? null : Array.from({ length: shards[1] - shards[0] + 1 }, (_, i) => shards[0] + i),
    sessions,
    logger,
  });
  const shardCount = await retry(() => upstream.shardCount(), (err) => logger.warn({ err: err.message }, 'cannot reach the gateway info (GET /gateway/bot); retrying'));
  const shardIds = await upstream.shardIds();
  const publicUrl = config.proxy.url ?? `ws://${config.proxy.host}:${config.proxy.port}`;
  const guilds = new GuildState();
  const downstream = new Downstream({
    token: config.discord_auth.token.replace(/^Bot\s+/i, ''),
    shardCount,
    shardIds: new Set(shardIds),
    guilds,
    send: (shardId, payload) => upstream.send(shardId, payload),
    publicUrl,
    bufferMaxEvents: config.proxy.buffer_max_events,
    bufferMaxAgeMs: config.proxy.buffer_max_age_seconds * 1000,
    clientSendQueueMaxBytes: config.proxy.client_send_queue_max_bytes,
    metrics,
    logger,
  });
  const guildStore = new GuildStore(redis, config.proxy.session_key_prefix, guilds, logger);
  await guildStore.load(shardIds);
  shutdown.add('guild state', () => guildStore.close());
  const consumers = await startConsumers(config, { redis, upstream, shardIds, registry, logger, shutdown });
  upstream.onDispatch((shardId, payload) => {
    metrics.eventsIn.inc({ shard: String(shardId) });
    try {
      const previous = guilds.apply(shardId, payload);
      downstream.onUpstream(shardId, payload);
      consumers.handle(shardId, payload, previous);
    } catch (err) {
      // One odd event must never take the proxy down.
      logger.error({ err, shardId, t: payload.t }, 'handling an upstream dispatch failed');
    }
  });

  const app = createHttpService({
    logger,
    registry,
    health: () => ({ shards: shardIds.length, guilds: guilds.count(), ...downstream.stats() }),
  });
  app.get('/healthcheck', async () => ({ status: 'OK' }));
  app.get('/shards', async () => ({
    shard_count: shardCount,
    shards: (await upstream.statuses()).map((s) => ({ ...s, identifies: upstream.identifies.get(s.shard) ?? 0, resumes: upstream.resumes.get(s.shard) ?? 0, guilds: guilds.guildIds(s.shard).length })),
    downstream: downstream.stats(),
  }));
  restForward(app, { upstreamApi: config.discord_auth.api_url, gatewayUrl: publicUrl, shardCount: () => shardCount });
  downstream.attach(app.server);
  await app.listen({ host: config.proxy.host, port: config.proxy.port });
  shutdown.add('upstream', () => upstream.stop());
  shutdown.add('http', () => app.close());
  shutdown.add('downstream', () => downstream.close());

  logger.info({ shardCount, shards: shardIds.length, persistedSessions: persisted, url: publicUrl }, 'proxy listening; connecting upstream');
  setInterval(() => {
    for (const [shard, ms] of upstream.latency) metrics.latency.set({ shard: String(shard) }, ms);
  }, 5_000).unref();
  await upstream.start();
}

/** Retries until it works (Discord or the sim may come up after us), every 2 s. */
async function retry<T>(fn: () => Promise<T>, onError: (err: Error) => void): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      onError(err as Error);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}
