// The consumer-facing side of the proxy (twilight-dispatch parity): every upstream dispatch, in
// order per shard, goes through the Redis state cache (which supplies `old`) and then to
// RabbitMQ. This path runs beside the downstream gateway and never delays it; each shard has
// its own bounded pipeline, so a slow Redis costs cache writes, never events.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventPublisher } from './amqp/publisher';
import { ShardPipeline } from './shard-pipeline';
import { STATE_KINDS, type StateCache } from './state/cache';
import type { StatusLog } from './status-log';

/** Events of one shard that may wait for Redis at once, and how long one may wait. */
const PIPELINE_DEFAULTS = { maxPending: 1_000, timeoutMs: 2_000 };

export interface DispatcherOptions {
  cache?: StateCache;
  publisher?: EventPublisher;
  statusLog?: StatusLog;
  registry: Registry;
  logger: Logger;
  pipeline?: Partial<typeof PIPELINE_DEFAULTS>;
}

export class Dispatcher {
  private readonly pipelines = new Map<number, ShardPipeline>();
  private readonly events: Counter;
  private readonly dropped: Counter;

  constructor(private readonly options: DispatcherOptions) {
    this.events = new Counter({ name: 'gateway_events', help: 'Gateway dispatches received, by event and shard', labelNames: ['type', 'shard'], registers: [options.registry] });
    this.dropped = new Counter({ name: 'proxy_state_cache_dropped_total', help: 'State cache writes skipped because Redis was late (the events were still published)', labelNames: ['shard'], registers: [options.registry] });
    const pipelines = this.pipelines;
    new Gauge({
      name: 'proxy_state_cache_pending',
      help: 'Events waiting for their state cache write, all shards',
      registers: [options.registry],
      collect() {
        this.set([...pipelines.values()].reduce((n, p) => n + p.pending, 0));
      },
    });
    const cache = options.cache;
    if (cache) {
      // One SCAN per scrape fills every state_* gauge; a stalled Redis must not hang the
      // scrape, so it gets the last counts after a second.
      let scan: Promise<Record<string, number>> | undefined;
      let last: Record<string, number> = {};
      const counts = () => {
        scan ??= cache
          .counts()
          .then((c) => (last = c))
          .finally(() => setTimeout(() => (scan = undefined), 1_000).unref());
        return Promise.race([scan.catch(() => last), new Promise<Record<string, number>>((r) => setTimeout(() => r(last), 1_000).unref())]);
      };
      for (const kind of STATE_KINDS) {
        new Gauge({
          name: `state_${kind}s`,
          help: `Cached ${kind} objects`,
          registers: [options.registry],
          async collect() {
            this.set((await counts())[kind] ?? 0);
          },
        });
      }
    }
  }

  /** Guild ids each shard held, to tell a join (GUILD_CREATE of a new guild) from a READY backfill. */
  private readonly known = new Map<number, Set<string>>();

  /** `known` is the previous entity from the proxy's guild state, when it had one. */
  handle(shard: number, payload: GatewayDispatchPayload, known?: unknown): void {
    this.events.inc({ type: payload.t, shard: String(shard) });
    if (this.options.statusLog) this.logGuilds(shard, payload, this.options.statusLog);
    if (!this.options.cache && !this.options.publisher) return;
    this.pipeline(shard).push({ payload, known });
  }

  private pipeline(shard: number): ShardPipeline {
    let pipeline = this.pipelines.get(shard);
    if (pipeline) return pipeline;
    const { cache, publisher, logger } = this.options;
    pipeline = new ShardPipeline({
      ...PIPELINE_DEFAULTS,
      ...this.options.pipeline,
      cache: async ({ payload, known }) => {
        try {
          return await cache?.process(payload, known);
        } catch (err) {
          logger.warn({ err: (err as Error).message, t: payload.t }, 'state cache update failed');
          return undefined;
        }
      },
      publish: ({ payload }, old) => publisher?.publish({ op: 0, t: payload.t, d: payload.d, s: payload.s, shard, ...(old !== undefined ? { old } : {}) }),
      dropped: () => this.dropped.inc({ shard: String(shard) }),
    });
    this.pipelines.set(shard, pipeline);
    return pipeline;
  }

  private logGuilds(shard: number, payload: GatewayDispatchPayload, log: StatusLog): void {
    let known = this.known.get(shard);
    if (!known) this.known.set(shard, (known = new Set()));
    // Read defensively: a malformed dispatch must still reach RabbitMQ.
    if (payload.t === 'READY') for (const g of Array.isArray(payload.d.guilds) ? payload.d.guilds : []) known.add(g?.id);
    else if (payload.t === 'GUILD_CREATE' && !known.has(payload.d.id)) {
      known.add(payload.d.id);
      log.guild(`Joined ${payload.d.name} (${payload.d.id}), ${payload.d.member_count} members, shard ${shard}`);
    } else if (payload.t === 'GUILD_DELETE' && !payload.d.unavailable) {
      known.delete(payload.d.id);
      log.guild(`Left guild ${payload.d.id}, shard ${shard}`);
    }
  }
}
