// Persists the guild state to Redis once per tick, per entity, so a restarted proxy that
// RESUMEs its upstream shards (and so gets no READY or GUILD_CREATEs) still serves them to bots.
// Keys (under the session key prefix):
//   ready                   hash: shard -> READY (without its guild list)
//   guild_ids:<shard>       set: the shard's guild ids
//   guild:<shard>:<guild>   hash: `base` -> the guild's own fields, `<list>:<id>` -> one entity
//                           (channels:<id>, members:<user id>, voice_states:<user id>...), as
//                           the state holds it: JSON, packed for members and the other kinds
//                           held serialized (entity-codec.ts), so that writing shares the strings
//                           held instead of copying them; plain JSON (older versions) reads too
//   guild_seq               hash: shard -> {"session_id", "s"}, the last dispatch the state reflects
//   guild_pos               hash: shard -> the shard log entry the persisted state includes, so
//                           a node reading a shard it does not own (`snapshot`) goes on from there
// An event writes only the entities it changed; a failed write is retried next tick. A tick's
// writes and the position they reflect go in one MULTI. The upstream session's `s` is persisted
// apart (proxy/session-store.ts), on its own tick, so after a kill -9 the two may differ: when
// the state is ahead, the dispatches the RESUME replays up to its position are skipped, not
// applied twice; when it is behind, the RESUME starts from its position, so that the state
// misses nothing (consumers may get those dispatches twice, as at least once allows).
import type { SessionInfo } from '@discordjs/ws';
import { GatewayDispatchEvents, type GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Change, GuildState, Position } from './guild-state';

/** The upstream sessions the shards will RESUME (proxy/session-store.ts). */
export interface ResumableSessions {
  get(shard: number): SessionInfo | null;
  set(shard: number, info: SessionInfo): void;
}

export class GuildStore {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly state: GuildState,
    private readonly logger: Logger,
    private readonly tickMs = 250,
    /** The shard log position of an owned shard's state (its last appended entry). */
    private readonly logPosition: (shard: number) => string | undefined = () => undefined,
  ) {}

  /**
   * Loads a shard's persisted state into `into` as of one log position, which it returns (no
   * position: the owner logs nothing yet). For a node that serves bots of a shard it does not own.
   */
  async snapshot(shard: number, into: GuildState): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const first = (await this.redis.multi().hget(`${this.prefix}guild_pos`, String(shard)).hget(`${this.prefix}ready`, String(shard)).smembers(this.idsKey(shard)).exec()) ?? [];
      const [pos, ready, ids] = [first[0]?.[1] as string | null, first[1]?.[1] as string | null, (first[2]?.[1] ?? []) as string[]];
      const read = this.redis.multi();
      for (const id of ids) read.hgetall(this.guildKey(shard, id));
      read.hget(`${this.prefix}guild_pos`, String(shard));
      const results = (await read.exec()) ?? [];
      // Written meanwhile: read again, so state and position match.
      if (results.at(-1)?.[1] !== pos && attempt < 5) continue;
      into.restore(shard, ready ? JSON.parse(ready) : undefined, results.slice(0, -1).map(([, fields]) => fields as Record<string, string>));
      return pos ?? undefined;
    }
  }

  /**
   * Restores what an earlier run persisted, before the upstream RESUMEs `sessions`: for a shard
   * whose state was persisted from the session it will resume, the RESUME starts at most from
   * the state's position, and what it replays up to that position is skipped.
   */
  async load(shardIds: number[], sessions?: ResumableSessions): Promise<void> {
    for (const shard of shardIds) {
      const [ready, ids, seq] = await Promise.all([
        this.redis.hget(`${this.prefix}ready`, String(shard)),
        this.redis.smembers(this.idsKey(shard)),
        this.redis.hget(this.seqKey(), String(shard)),
      ]);
      if (!ready) continue;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.guildKey(shard, id));
      const guilds = ((await pipeline.exec()) ?? []).map(([err, fields]) => {
        if (err) throw err;
        return fields as Record<string, string>;
      });
      this.state.restore(shard, JSON.parse(ready), guilds);
      if (ids.length === 0) await this.migrateWholeGuilds(shard);
      const position = seq ? (JSON.parse(seq) as Position) : undefined;
      const session = sessions?.get(shard);
      if (!sessions || !position || !session || session.sessionId !== position.session_id) continue;
      this.state.skipReplayed(shard, position.s);
      if (position.s < session.sequence) {
        sessions.set(shard, { ...session, sequence: position.s });
        this.logger.info({ shard, from: position.s, persisted: session.sequence }, 'resuming from where the persisted guild state stands');
      }
    }
    // Loaded again for each shard a node takes over; one flush timer.
    this.timer ??= setInterval(() => void this.flush(), this.tickMs).unref();
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
    const multi = this.redis.multi();
    for (const c of changes) this.queue(multi, c);
    for (const shard of new Set(changes.map((c) => c.shard))) {
      const seq = this.state.position(shard);
      if (seq) multi.hset(this.seqKey(), String(shard), JSON.stringify(seq));
      const logged = this.logPosition(shard);
      if (logged) multi.hset(`${this.prefix}guild_pos`, String(shard), logged);
    }
    try {
      const results = (await multi.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0]!;
    } catch (err) {
      // Values are read again at the retry, so a retried unit is written as it is by then.
      this.state.requeue(changes);
      this.logger.warn({ err: (err as Error).message, units: changes.length }, 'persisting guild state failed; retrying next tick');
    }
  }

  private queue(pipeline: ChainableCommander, { shard, guild, field }: Change): void {
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

  private seqKey(): string {
    return `${this.prefix}guild_seq`;
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
