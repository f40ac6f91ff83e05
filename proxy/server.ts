// `splashtail proxy`: upstream shards, the downstream gateway and the REST entry point on one port.
import type { Config } from '../internal/config';
import { createHttpService } from '../internal/http/service';
import { createLogger } from '../internal/log';
import { createRegistry } from '../internal/metrics';
import { createRedis } from '../internal/redis';
import { Shutdown } from '../internal/shutdown';
import { Downstream } from './downstream';
import { persistDownstream } from './downstream-persist';
import { GuildState } from './guild-state';
import { GuildStore } from './guild-store';
import { MemoryMode } from './memory-mode';
import { startConsumers } from './consumers';
import { createProxyMetrics } from './metrics';
import { restForward } from './rest-forward';
import { SessionStore } from './session-store';
import { fetchGatewayInfo, Upstream } from './upstream';
import { createCluster } from './cluster/setup';
import { createClusterMetrics } from './cluster/metrics';

export async function runProxy(config: Config): Promise<void> {
  const logger = createLogger('proxy');
  const registry = createRegistry('proxy');
  const metrics = createProxyMetrics(registry);
  const shutdown = new Shutdown(logger, 20_000);
  shutdown.listen();

  const redis = createRedis(config.meta.redis_url, logger, 'proxy');
  const token = config.discord_auth.token;
  shutdown.add('redis', () => redis.quit());
  // Shard ownership (a fixed set, or leases shared by every node) drives the upstream shards.
  const clusterMetrics = createClusterMetrics(registry);
  const gatewayInfo = await retry(() => fetchGatewayInfo(config.discord_auth.api_url, token), (err) => logger.warn({ err: err.message }, 'cannot reach the gateway info (GET /gateway/bot); retrying'));
  const publicUrl = config.proxy.url ?? `ws://${config.proxy.host}:${config.proxy.port}`;
  const cluster = await createCluster({
    config, redis, logger, metrics: clusterMetrics, url: `http://${config.proxy.host}:${config.proxy.port}`,
    shardCount: config.proxy.shard_count || gatewayInfo.shards, maxConcurrency: gatewayInfo.session_start_limit.max_concurrency,
    sessionStartLimit: async () => (await fetchGatewayInfo(config.discord_auth.api_url, token)).session_start_limit,
  });
  const { ownership, shardCount, shardIds } = cluster;
  const sessions = new SessionStore(redis, config.proxy.session_key_prefix, logger, ownership);
  shutdown.add('sessions', () => sessions.close());
  const upstream = new Upstream({
    token, intents: config.proxy.intents, shardCount, gatewayInfo, sessions,
    waitForIdentify: (shard, signal) => cluster.identify.waitForIdentify(shard, signal),
    holds: (shard) => ownership.holds(shard),
    takeoverSeconds: clusterMetrics.takeoverSeconds,
    lastLogged: (shard) => persist?.log.lastSeq(shard) ?? Promise.resolve(null),
    // The guild state may stand behind the session: its RESUME then starts from the state.
    prepare: (shard, resumable) => guildStore.load([shard], resumable),
    logger,
  });
  const guilds = new GuildState(config.proxy.guild_state);
  const persist = await persistDownstream(config, { redis, registry, logger, shutdown, send: (shard, payload) => upstream.send(shard, payload) });
  const downstream = new Downstream({
    token,
    shardCount,
    shardIds: new Set(shardIds),
    guilds,
    // A shard another node owns: through that node (downstream-sends.ts).
    send: (shardId, payload) => (persist && !persist.log.owns(shardId) ? persist.sends.publish(shardId, payload) : upstream.send(shardId, payload)),
    publicUrl,
    bufferMaxEvents: config.proxy.buffer_max_events,
    bufferMaxAgeMs: config.proxy.buffer_max_age_seconds * 1000,
    clientSendQueueMaxBytes: config.proxy.client_send_queue_max_bytes,
    metrics,
    logger,
    persist: persist && { ...persist, redis, snapshot: (shard, into) => guildStore.snapshot(shard, into) },
  });
  const guildStore = new GuildStore(redis, config.proxy.session_key_prefix, guilds, logger, undefined, (shard) => persist?.log.head(shard)?.id);
  await guildStore.load([]);
  shutdown.add('guild state', () => guildStore.close());
  const consumers = await startConsumers(config, { redis, upstream, shardCount, registry, logger, shutdown });
  // A taken shard appends to its log under its new epoch, then RESUMEs (no READY, no
  // GUILD_CREATE: its guild state comes from Redis first); bots of a shard that changed owner
  // here RESUME from the log.
  const memoryMode = new MemoryMode(() => upstream.statuses().every((s) => s.status === 'Ready') && guilds.awaited() === 0, logger, metrics.memorySaving);
  memoryMode.save();
  upstream.on('ready', () => memoryMode.save());
  ownership.on('acquired', (shard, epoch) => {
    memoryMode.save();
    void (async () => {
      await persist?.log.acquire(shard, epoch);
      await upstream.acquire(shard, epoch);
      downstream.shardMoved(shard);
    })().catch((err: Error) => logger.error({ err, shard }, 'taking a shard failed'));
  });
  ownership.on('released', (shard) => {
    persist?.log.release(shard);
    void upstream.release(shard, false);
    downstream.shardMoved(shard);
  });
  ownership.drainWith(async (shard) => {
    await upstream.release(shard, true);
    await persist?.log.flush();
    persist?.log.release(shard);
  });
  // An append refused for an old epoch: another node owns the shard now.
  persist?.log.on('fenced', (shard) => ownership.lose(shard));
  upstream.onDispatch((shardId, payload, replayed) => {
    metrics.eventsIn.inc({ shard: String(shardId) });
    try {
      // The guild state skips what it already reflects; it may stand behind the log.
      const previous = guilds.apply(shardId, payload);
      if (replayed) return;
      const logged = persist?.log.append(shardId, payload, upstream.sessionInfo(shardId)?.sessionId ?? '');
      if (logged === 'replay') return; // an upstream RESUME replayed what the log already holds
      downstream.onUpstream(shardId, payload, logged);
      consumers.handle(shardId, payload, previous);
    } catch (err) {
      // One odd event must never take the proxy down.
      logger.error({ err, shardId, t: payload.t }, 'handling an upstream dispatch failed');
    }
  });

  const app = createHttpService({
    logger,
    registry,
    health: () => ({ shards: upstream.owned().length, guilds: guilds.count(), ...downstream.stats() }),
  });
  app.get('/healthcheck', async () => ({ status: 'OK' }));
  const localShards = () => upstream.statuses().map((s) => ({
    ...s, identifies: upstream.identifies.get(s.shard) ?? 0, resumes: upstream.resumes.get(s.shard) ?? 0, guilds: guilds.guildIds(s.shard).length,
    node: cluster.name, epoch: ownership.owned.get(s.shard) ?? null, seq: upstream.sessionInfo(s.shard)?.sequence ?? null,
  }));
  app.get('/shards', async () => ({ shard_count: shardCount, shards: await cluster.shards(localShards()), downstream: downstream.stats() }));
  app.get('/nodes', async () => cluster.nodes(upstream.owned()));
  const publisher = setInterval(() => void cluster.publish(localShards()).catch(() => {}), 1_000);
  shutdown.add('shard status', () => clearInterval(publisher));
  restForward(app, { upstreamApi: config.discord_auth.api_url, gatewayUrl: publicUrl, shardCount: () => shardCount });
  downstream.attach(app.server);
  await app.listen({ host: config.proxy.host, port: config.proxy.port });
  // SIGTERM hands every shard off (drain: stop reading, persist the seq, release the lease).
  shutdown.add('shards', () => ownership.stop());
  shutdown.add('http', () => app.close());
  shutdown.add('downstream', () => downstream.close());

  logger.info({ shardCount, shards: config.proxy.shards === 'auto' ? 'auto' : shardIds.length, node: cluster.name, url: publicUrl }, 'proxy listening; connecting upstream');
  setInterval(() => {
    for (const [shard, ms] of upstream.latency) metrics.latency.set({ shard: String(shard) }, ms);
  }, 5_000).unref();
  await ownership.start();
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
