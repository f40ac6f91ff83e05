// Persists the guild state to Redis once per tick, per entity, so a restarted proxy that
// RESUMEs its upstream shards (and so gets no READY or GUILD_CREATEs) still serves them to bots.
// Keys (under the session key prefix):
//   ready                   hash: shard -> READY (without its guild list)
//   guild_ids:<shard>       set: the shard's guild ids
//   guild:<shard>:<guild>   hash: `base` -> the guild's own fields, `<list>:<id>` -> one entity
//                           (channels:<id>, members:<user id>, voice_states:<user id>...)
// An event writes only the entities it changed; a failed write is retried next tick.
import { GatewayDispatchEvents, type GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Change, GuildState } from './guild-state';

export class GuildStore {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly state: GuildState,
    private readonly logger: Logger,
    private readonly tickMs = 250,
  ) {}

  async load(shardIds: number[]): Promise<void> {
    for (const shard of shardIds) {
      const [ready, ids] = await Promise.all([this.redis.hget(`${this.prefix}ready`, String(shard)), this.redis.smembers(this.idsKey(shard))]);
      if (!ready) continue;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.guildKey(shard, id));
      const guilds = ((await pipeline.exec()) ?? []).map(([err, fields]) => {
        if (err) throw err;
        return fields as Record<string, string>;
      });
      this.state.restore(shard, JSON.parse(ready), guilds);
      if (ids.length === 0) await this.migrateWholeGuilds(shard);
    }
    this.timer = setInterval(() => void this.flush(), this.tickMs);
    this.timer.unref();
  }

  /**
   * Earlier versions kept whole guilds in `guilds:<shard>`. A proxy upgraded in place RESUMEs and
   * gets no GUILD_CREATEs, so it reads them once, writes them per entity and drops the old hash.
   */
  private async migrateWholeGuilds(shard: number): Promise<void> {
    const legacyKey = `${this.prefix}guilds:${shard}`;
    const legacy = await this.redis.hvals(legacyKey);
    if (legacy.length === 0) return;
    for (const json of legacy) this.state.apply(shard, { t: GatewayDispatchEvents.GuildCreate, op: 0, s: 0, d: JSON.parse(json) as GatewayGuildCreateDispatchData });
    await this.flush();
    if ((await this.redis.scard(this.idsKey(shard))) === 0) return; // not written yet: keep the old hash
    await this.redis.del(legacyKey);
    this.logger.info({ shard, guilds: legacy.length }, 'moved persisted guilds to per-entity keys');
  }

  /** Writes what changed since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const changes = this.state.takeChanges();
    if (changes.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const c of changes) this.queue(pipeline, c);
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0]!;
    } catch (err) {
      // Values are read again at the retry, so a retried unit is written as it is by then.
      this.state.requeue(changes);
      this.logger.warn({ err: (err as Error).message, units: changes.length }, 'persisting guild state failed; retrying next tick');
    }
  }

  private queue(pipeline: ReturnType<Redis['pipeline']>, { shard, guild, field }: Change): void {
    if (guild === 'READY') {
      const ready = this.state.readyOf(shard);
      if (ready) pipeline.hset(`${this.prefix}ready`, String(shard), JSON.stringify({ ...ready, guilds: [] }));
      return;
    }
    const key = this.guildKey(shard, guild);
    if (field === '*') {
      const fields = this.state.fields(shard, guild);
      pipeline.del(key);
      if (fields) {
        pipeline.hset(key, fields);
        pipeline.sadd(this.idsKey(shard), guild);
      } else pipeline.srem(this.idsKey(shard), guild);
      return;
    }
    const value = this.state.field(shard, guild, field);
    if (value === undefined) pipeline.hdel(key, field);
    else pipeline.hset(key, field, value);
  }

  private idsKey(shard: number): string {
    return `${this.prefix}guild_ids:${shard}`;
  }

  private guildKey(shard: number, guild: string): string {
    return `${this.prefix}guild:${shard}:${guild}`;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }
}
