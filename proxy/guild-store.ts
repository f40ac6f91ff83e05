// Persists the guild state to Redis once per tick, so a restarted proxy that RESUMEs its
// upstream shards (and so gets no READY or GUILD_CREATEs) still serves them to bots.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GuildState } from './guild-state';

export class GuildStore {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly state: GuildState,
    private readonly logger: Logger,
    private readonly tickMs = 250,
  ) {}

  async load(shardIds: number[]): Promise<void> {
    for (const shard of shardIds) {
      const [ready, guilds] = await Promise.all([this.redis.hget(`${this.prefix}ready`, String(shard)), this.redis.hvals(`${this.prefix}guilds:${shard}`)]);
      if (ready) this.state.restore(shard, JSON.parse(ready), guilds.map((g) => JSON.parse(g)));
    }
    this.timer = setInterval(() => void this.flush(), this.tickMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    const changes = this.state.takeChanges();
    if (changes.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [shard, id] of changes) {
      if (id === 'READY') {
        const ready = this.state.readyOf(shard);
        if (ready) pipeline.hset(`${this.prefix}ready`, String(shard), JSON.stringify({ ...ready, guilds: [] }));
        continue;
      }
      const guild = this.state.guildCreate(shard, id);
      if (guild) pipeline.hset(`${this.prefix}guilds:${shard}`, id, JSON.stringify(guild));
      else pipeline.hdel(`${this.prefix}guilds:${shard}`, id);
    }
    try {
      await pipeline.exec();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'persisting guild state failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
