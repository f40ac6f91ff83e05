// The consumer-facing side of the proxy (twilight-dispatch parity): every upstream dispatch, in
// order per shard, goes through the Redis state cache (which supplies `old`) and then to
// RabbitMQ. This path runs beside the downstream gateway and never delays it.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventPublisher } from './amqp/publisher';
import { STATE_KINDS, type StateCache } from './state/cache';
import type { StatusLog } from './status-log';

export class Dispatcher {
  private chain: Promise<void> = Promise.resolve();
  private readonly events: Counter;

  constructor(
    private readonly options: { cache?: StateCache; publisher?: EventPublisher; statusLog?: StatusLog; registry: Registry; logger: Logger },
  ) {
    this.events = new Counter({ name: 'gateway_events', help: 'Gateway dispatches received, by event and shard', labelNames: ['type', 'shard'], registers: [options.registry] });
    const cache = options.cache;
    if (cache) {
      // One SCAN per scrape fills every state_* gauge.
      let scan: Promise<Record<string, number>> | undefined;
      const counts = () => {
        scan ??= cache.counts().finally(() => setTimeout(() => (scan = undefined), 1_000).unref());
        return scan;
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
    const { cache, publisher, logger } = this.options;
    if (!cache && !publisher) return;
    this.chain = this.chain.then(async () => {
      let old: unknown;
      try {
        old = await cache?.process(payload, known);
      } catch (err) {
        logger.warn({ err: (err as Error).message, t: payload.t }, 'state cache update failed');
      }
      publisher?.publish({ op: 0, t: payload.t, d: payload.d, s: payload.s, shard, ...(old !== undefined ? { old } : {}) });
    });
  }

  private logGuilds(shard: number, payload: GatewayDispatchPayload, log: StatusLog): void {
    let known = this.known.get(shard);
    if (!known) this.known.set(shard, (known = new Set()));
    if (payload.t === 'READY') for (const g of payload.d.guilds) known.add(g.id);
    else if (payload.t === 'GUILD_CREATE' && !known.has(payload.d.id)) {
      known.add(payload.d.id);
      log.guild(`Joined ${payload.d.name} (${payload.d.id}), ${payload.d.member_count} members, shard ${shard}`);
    } else if (payload.t === 'GUILD_DELETE' && !payload.d.unavailable) {
      known.delete(payload.d.id);
      log.guild(`Left guild ${payload.d.id}, shard ${shard}`);
    }
  }

  /** Resolves once every event handed in so far went through the cache into the publisher. */
  drain(): Promise<void> {
    return this.chain;
  }
}
