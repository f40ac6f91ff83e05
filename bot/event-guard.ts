// Guards the point where gateway packets enter discord.js (WebSocketManager.handlePacket, which
// runs its packet handlers, some later on setImmediate, where no listener of ours would see a
// throw). A packet whose handling throws (a payload discord.js cannot parse) is logged, counted
// and skipped: one bad event never ends the cluster. A guild whose events fail QUARANTINE_AFTER
// times (within FAILURE_MEMORY_S of each other) is quarantined: its events are skipped and
// counted. Quarantine and failure counts live in Redis, because the same bad GUILD_CREATE comes
// back on every start; without Redis the guard still works from memory.
import { once } from 'node:events';
import type { Client } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { type QuarantinedGuild, quarantinedGuildSchema } from '../internal/ipc/messages';

export const QUARANTINE_AFTER = 3;
const FAILURE_MEMORY_S = 24 * 3600;

interface Packet {
  t?: unknown;
  d?: unknown;
}

/** The guild a dispatch belongs to: `d.guild_id`, or `d.id` of the GUILD_* events. */
export function guildOf(packet: Packet): string | undefined {
  const d = packet.d;
  if (typeof d !== 'object' || d === null) return undefined;
  const { guild_id: guildId, id } = d as { guild_id?: unknown; id?: unknown };
  if (typeof guildId === 'string') return guildId;
  if (typeof id === 'string' && (packet.t === 'GUILD_CREATE' || packet.t === 'GUILD_UPDATE' || packet.t === 'GUILD_DELETE')) return id;
  return undefined;
}

export class EventGuard {
  private readonly quarantined = new Map<string, QuarantinedGuild>();
  private readonly failures = new Map<string, number>();
  private readonly metrics;
  private readonly quarantineKey: string;
  private readonly failuresKey: string;

  constructor(
    private readonly options: { redis: Redis; keyPrefix: string; logger: Logger; registry: Registry },
  ) {
    const registers = [options.registry];
    this.quarantineKey = `${options.keyPrefix}:quarantine`;
    this.failuresKey = `${options.keyPrefix}:guild_failures`;
    this.metrics = {
      handled: new Counter({ name: 'splashtail_bot_gateway_events_total', help: 'Gateway dispatches handled, by type', labelNames: ['type'], registers }),
      failed: new Counter({ name: 'splashtail_bot_event_failures_total', help: 'Gateway dispatches whose handling threw, by type', labelNames: ['type'], registers }),
      skipped: new Counter({ name: 'splashtail_bot_quarantined_events_total', help: 'Dispatches of quarantined guilds skipped, by type', labelNames: ['type'], registers }),
    };
  }

  /** Reads the quarantine from Redis (waiting up to 5 s for a connection); without Redis, starts empty. */
  async load(): Promise<void> {
    const { redis, logger } = this.options;
    try {
      if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(5_000) });
      const [quarantined, failures] = await Promise.all([redis.hgetall(this.quarantineKey), redis.hgetall(this.failuresKey)]);
      for (const [guildId, raw] of Object.entries(quarantined)) {
        const entry = quarantinedGuildSchema.safeParse(safeJson(raw));
        if (entry.success && entry.data.guild_id === guildId) this.quarantined.set(guildId, { ...entry.data, skipped: 0 });
      }
      for (const [guildId, count] of Object.entries(failures)) this.failures.set(guildId, Number(count) || 0);
      if (this.quarantined.size) logger.warn({ guilds: [...this.quarantined.keys()] }, 'quarantined guilds: their events are skipped');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'quarantine not loaded from Redis; starting without it');
    }
  }

  list(): QuarantinedGuild[] {
    return [...this.quarantined.values()];
  }

  /** Wraps the client's packet entry point; install before login. */
  install(client: Client): void {
    // handlePacket is private in discord.js's typings; it is the one door every dispatch takes.
    const ws = client.ws as unknown as { handlePacket(packet?: Packet, shard?: unknown): boolean };
    const original = ws.handlePacket.bind(ws);
    ws.handlePacket = (packet?: Packet, shard?: unknown): boolean => {
      if (!packet) return original(packet, shard);
      const type = typeof packet.t === 'string' ? packet.t : 'unknown';
      const guildId = guildOf(packet);
      const quarantined = guildId === undefined ? undefined : this.quarantined.get(guildId);
      if (quarantined) {
        quarantined.skipped++;
        this.metrics.skipped.inc({ type });
        // Still let discord.js drain its queue of packets held before ready.
        return original(undefined, shard);
      }
      try {
        const handled = original(packet, shard);
        if (handled) this.metrics.handled.inc({ type });
        return handled;
      } catch (err) {
        this.onFailure(type, guildId, err as Error);
        return true;
      }
    };
  }

  private onFailure(type: string, guildId: string | undefined, err: Error): void {
    const { logger, redis } = this.options;
    this.metrics.failed.inc({ type });
    logger.error({ event: type, guild_id: guildId, err }, 'gateway event failed; skipped');
    if (guildId === undefined) return;
    const count = (this.failures.get(guildId) ?? 0) + 1;
    this.failures.set(guildId, count);
    redis
      .multi()
      .hincrby(this.failuresKey, guildId, 1)
      .expire(this.failuresKey, FAILURE_MEMORY_S)
      .exec()
      .catch((e: Error) => logger.warn({ err: e.message, guild_id: guildId }, 'guild failure count not saved'));
    if (count < QUARANTINE_AFTER) return;
    const entry: QuarantinedGuild = { guild_id: guildId, since: new Date().toISOString(), failures: count, skipped: 0, event: type, error: err.message.slice(0, 500) };
    this.quarantined.set(guildId, entry);
    logger.warn({ guild_id: guildId, failures: count, event: type }, 'guild quarantined: its events are skipped from now on');
    redis.hset(this.quarantineKey, guildId, JSON.stringify(entry)).catch((e: Error) => logger.warn({ err: e.message, guild_id: guildId }, 'quarantine not saved'));
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
