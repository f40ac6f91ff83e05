// Per-guild settings of a module: one JSON document per (guild, module) in Postgres, read and
// written through the module's own zod schema so a document is valid whoever wrote it last.
// Updates read the row FOR UPDATE, so two concurrent edits (two clusters, two moderators) apply
// one after the other instead of one overwriting the other.
//
// Reads go through a copy in Redis (hash <prefix>:settings:<guild>, one field per module), shared
// by every cluster: an audit entry costs one HMGET instead of a Postgres query, and the limits keep
// working from that copy while Postgres is down. A write commits, then deletes the copy and bumps
// the hash's `ver` field; a reader fills the copy only if `ver` is still what it saw before its
// Postgres read (a Lua compare-and-set), so a read that raced a write can never put the old
// document back. A change thus reaches every cluster on its next read. Each process also keeps
// the parsed document beside the raw JSON it came from, so an unchanged document is not re-parsed.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { inTransaction, type Pool } from '../../internal/db/pool';

export type SettingsModule = 'limits' | 'moderation' | 'permissions';

/** How long the Redis copy lives without being refilled: a backstop should an invalidation be lost. */
const COPY_TTL_S = 3_600;
/** How often a write whose invalidation failed (Redis down) retries it, in the background. */
const INVALIDATE_RETRY_MS = 1_000;

// Fills the copy only if the version is still the one read before Postgres was (ARGV[1], '' for none).
export const FILL_SCRIPT = `
local ver = redis.call('HGET', KEYS[1], 'ver') or ''
if ver ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

export interface SettingsCache {
  redis: Redis;
  /** Prefix of this deployment's Redis keys. */
  prefix: string;
  logger: Logger;
}

export class SettingsStore {
  private readonly parsed = new Map<string, { raw: string; value: unknown }>();
  private readonly reading = new Map<string, Promise<unknown>>();
  private warnedAt = 0;

  /** Without `cache`, every read is a Postgres query (the tools and tests that want exactly that). */
  constructor(
    private readonly pool: Pool,
    private readonly cache?: SettingsCache,
  ) {}

  async get<S extends z.ZodType>(guildId: string, module: SettingsModule, schema: S): Promise<z.output<S>> {
    if (!this.cache) return schema.parse(await this.read(guildId, module));
    const key = this.key(guildId);
    let copy: [string | null, string | null];
    try {
      copy = (await this.cache.redis.hmget(key, module, 'ver')) as [string | null, string | null];
    } catch (err) {
      // Redis down: Postgres is the truth, and nothing may be trusted from a copy it cannot check.
      // Once a minute at most: under a raid every audit entry would say it.
      if (Date.now() - this.warnedAt > 60_000) {
        this.warnedAt = Date.now();
        this.cache.logger.warn({ err: (err as Error).message }, 'settings copy unavailable (Redis); reading Postgres');
      }
      let doc: unknown;
      try {
        doc = await this.read(guildId, module);
      } catch (pgErr) {
        // Both down: the last document this process saw, rather than no protection at all.
        const last = this.parsed.get(`${guildId}:${module}`);
        if (last) return last.value as z.output<S>;
        throw pgErr;
      }
      return this.parse(guildId, module, JSON.stringify(doc), schema);
    }
    const [raw, ver] = copy;
    if (raw !== null) return this.parse(guildId, module, raw, schema);
    const fresh = JSON.stringify((await this.read(guildId, module, ver ?? '')) ?? {});
    await this.cache.redis.eval(FILL_SCRIPT, 1, key, ver ?? '', module, fresh, COPY_TTL_S).catch(() => 0);
    return this.parse(guildId, module, fresh, schema);
  }

  async update<S extends z.ZodType>(guildId: string, module: SettingsModule, schema: S, change: (current: z.output<S>) => z.output<S>): Promise<z.output<S>> {
    const next = await inTransaction(this.pool, async (client) => {
      await client.query('insert into guild_settings (guild_id, module) values ($1, $2) on conflict do nothing', [guildId, module]);
      const { rows } = await client.query<{ settings: unknown }>('select settings from guild_settings where guild_id = $1 and module = $2 for update', [guildId, module]);
      const changed: z.output<S> = schema.parse(change(schema.parse(rows[0]?.settings ?? {})));
      await client.query('update guild_settings set settings = $3, updated_at = now() where guild_id = $1 and module = $2', [guildId, module, JSON.stringify(changed)]);
      return changed;
    });
    await this.invalidate(guildId, module);
    return next;
  }

  /**
   * Drops the shared copy after a write (for writers other than update(): the website's API).
   * Resolves once done; if Redis is down it keeps retrying in the background, and meanwhile
   * readers, who cannot reach Redis either, read Postgres.
   */
  async invalidate(guildId: string, module: SettingsModule): Promise<void> {
    const cache = this.cache;
    if (!cache) return;
    const key = this.key(guildId);
    const attempt = () => cache.redis.multi().hdel(key, module).hincrby(key, 'ver', 1).expire(key, COPY_TTL_S).exec();
    try {
      await attempt();
    } catch (err) {
      cache.logger.warn({ err: (err as Error).message, guild_id: guildId, module }, 'settings copy not invalidated; retrying');
      const retry = () => attempt().catch(() => void setTimeout(retry, INVALIDATE_RETRY_MS).unref());
      setTimeout(retry, INVALIDATE_RETRY_MS).unref();
    }
  }

  private key(guildId: string): string {
    return `${this.cache!.prefix}:settings:${guildId}`;
  }

  /**
   * One Postgres query at a time per document and copy version: a raid's burst of entries on a
   * cold copy shares it. Only readers that saw the same `ver` share a query: one that saw a newer
   * version must not take the result of a query started before that write, or it would fill the
   * copy with the old document under the new version.
   */
  private read(guildId: string, module: SettingsModule, ver = '-'): Promise<unknown> {
    const id = `${guildId}:${module}:${ver}`;
    let running = this.reading.get(id);
    if (!running) {
      running = this.pool
        .query<{ settings: unknown }>('select settings from guild_settings where guild_id = $1 and module = $2', [guildId, module])
        .then(({ rows }) => rows[0]?.settings ?? {})
        .finally(() => this.reading.delete(id));
      this.reading.set(id, running);
    }
    return running;
  }

  private parse<S extends z.ZodType>(guildId: string, module: SettingsModule, raw: string, schema: S): z.output<S> {
    const id = `${guildId}:${module}`;
    const known = this.parsed.get(id);
    if (known?.raw === raw) return known.value as z.output<S>;
    const value = schema.parse(JSON.parse(raw));
    this.parsed.set(id, { raw, value });
    return value;
  }
}
