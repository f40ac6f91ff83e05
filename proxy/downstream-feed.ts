// A shard this node does not own, read from its log for the bots connected here: one blocking
// XREAD loop per shard on a connection of its own, from a position on, handing each entry on
// in order. The shard's guild state comes from the owner's persisted copy at a log position
// (GuildStore.snapshot) and is kept current by the same entries.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GuildState } from './guild-state';
import { continues, type LogEntry, type LogPosition, type ShardLog, toEntry } from './shard-log';

/** How long one XREAD waits for entries before it is issued again (and a stop is noticed). */
const BLOCK_MS = 1_000;
/** A shard read from its log with no session here for this long is no longer read. */
const IDLE_MS = 30_000;

/** The shards another node owns that this node reads, one feed each. */
export class RemoteShards {
  private readonly starting = new Map<number, Promise<ShardFeed>>();
  private readonly running = new Map<number, ShardFeed>();
  private readonly idleSince = new Map<number, number>();

  constructor(
    private readonly opts: {
      log: ShardLog;
      redis: Redis;
      snapshot: (shard: number, into: GuildState) => Promise<string | undefined>;
      onEntry: (shard: number, entry: LogEntry, payload: GatewayDispatchPayload) => void;
      onHole: (shard: number) => void;
      logger: Logger;
    },
  ) {}

  /** The running feed of `shard`, if any. */
  get(shard: number): ShardFeed | undefined {
    return this.running.get(shard);
  }

  /**
   * Starts reading `shard` from the position its persisted guild state is as of; rejects while
   * the owner has persisted no READY for it (the caller tries again).
   */
  start(shard: number): Promise<ShardFeed> {
    let pending = this.starting.get(shard);
    if (pending) return pending;
    const { log, redis, snapshot, logger } = this.opts;
    pending = (async () => {
      const feed = new ShardFeed(redis, shard, log.key(shard), { id: '0-0', sid: '', s: 0 }, (entry, payload) => this.opts.onEntry(shard, entry, payload), () => this.opts.onHole(shard), logger);
      try {
        const pos = await snapshot(shard, feed.guilds);
        if (!feed.guilds.readyOf(shard)) throw new Error(`shard ${shard} has no persisted READY yet`);
        feed.position = (pos && (await log.at(shard, pos))) || ((await log.last(shard)) ?? feed.position);
        if (this.starting.get(shard) !== pending) throw new Error(`shard ${shard} moved meanwhile`);
      } catch (err) {
        feed.stop();
        throw err;
      }
      this.running.set(shard, feed);
      void feed.run();
      return feed;
    })();
    this.starting.set(shard, pending);
    pending.catch(() => this.starting.get(shard) === pending && this.starting.delete(shard));
    return pending;
  }

  stop(shard: number): void {
    this.idleSince.delete(shard);
    this.running.get(shard)?.stop();
    this.running.delete(shard);
    this.starting.delete(shard);
  }

  stopAll(): void {
    for (const shard of [...this.running.keys()]) this.stop(shard);
  }

  /** Stops the feeds nobody here has read for a while (an IDENTIFY may be waiting on a new one). */
  sweep(inUse: (shard: number) => boolean): void {
    for (const shard of [...this.running.keys()]) {
      if (inUse(shard)) this.idleSince.delete(shard);
      else if (!this.idleSince.has(shard)) this.idleSince.set(shard, Date.now());
      else if (Date.now() - this.idleSince.get(shard)! > IDLE_MS) this.stop(shard);
    }
  }
}

export class ShardFeed {
  readonly guilds = new GuildState();
  private stopped = false;
  /** Its own connection (XREAD blocks it), opened once the feed runs: not per attempt to start. */
  private reader: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly shard: number,
    private readonly key: string,
    /** The last entry handed on (or the one the snapshot includes). */
    public position: LogPosition,
    private readonly onEntry: (entry: LogEntry, payload: GatewayDispatchPayload) => void,
    /** Entries are missing before this one (the owner dropped them while Redis was late). */
    private readonly onHole: () => void,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    if (this.stopped) return;
    const reader = (this.reader = this.redis.duplicate());
    while (!this.stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await reader.xread('COUNT', 1_000, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.position.id)) as typeof reply;
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn({ err: (err as Error).message, key: this.key }, 'reading a shard log failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        const entry = toEntry(id, fields);
        if (!entry || this.stopped) continue;
        if (this.position.sid && !continues(this.position, entry)) this.onHole();
        this.position = entry;
        const payload = { op: 0, s: entry.s, t: entry.t, d: JSON.parse(entry.d) } as GatewayDispatchPayload;
        this.guilds.apply(this.shard, payload);
        this.guilds.takeChanges(); // nobody persists a copy
        this.onEntry(entry, payload);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.reader?.disconnect();
  }
}
