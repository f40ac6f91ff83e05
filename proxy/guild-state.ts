// The guilds each upstream shard holds, kept current from its dispatches: the source of the
// READY guild list and of the GUILD_CREATEs the proxy serves to bots.
import type { GatewayDispatchPayload, GatewayReadyDispatchData } from 'discord-api-types/v10';

type Guild = Record<string, unknown> & { id: string; channels?: { id: string }[]; roles?: { id: string }[]; members?: { user: { id: string } }[]; member_count?: number };

export class GuildState {
  private readonly guilds = new Map<number, Map<string, Guild>>();
  private readonly ready = new Map<number, GatewayReadyDispatchData>();
  /** `shard:guild` keys (and `shard:READY`) changed since the last `takeChanges()`. */
  private readonly changed = new Set<string>();

  /** What changed since the last call, for persistence: [shard, guild id or 'READY'] pairs. */
  takeChanges(): [number, string][] {
    const keys = [...this.changed];
    this.changed.clear();
    return keys.map((k) => {
      const [shard, id] = k.split(':');
      return [Number(shard), id!];
    });
  }

  /** Restores what a previous run persisted (before the upstream RESUMEs). */
  restore(shardId: number, ready: GatewayReadyDispatchData | undefined, guilds: Guild[]): void {
    if (ready) this.ready.set(shardId, ready);
    this.guilds.set(shardId, new Map(guilds.map((g) => [g.id, g])));
  }

  readyOf(shardId: number): GatewayReadyDispatchData | undefined {
    return this.ready.get(shardId);
  }

  /** Guild ids of the shard: READY's list, with the ones created or deleted since. */
  guildIds(shardId: number): string[] {
    return [...(this.guilds.get(shardId)?.keys() ?? [])];
  }

  guildCreate(shardId: number, guildId: string): Guild | undefined {
    return this.guilds.get(shardId)?.get(guildId);
  }

  count(): number {
    let n = 0;
    for (const g of this.guilds.values()) n += g.size;
    return n;
  }

  /**
   * Applies one dispatch. Returns the entity as it was before an UPDATE/DELETE (guild without
   * its lists, channel, role or member), which the state cache publishes as `old`: the bots'
   * GUILD_CREATEs and the consumers' `old` come from this one state.
   */
  apply(shardId: number, payload: GatewayDispatchPayload): unknown {
    if (payload.d === null || typeof payload.d !== 'object') return undefined;
    let shard = this.guilds.get(shardId);
    if (!shard) this.guilds.set(shardId, (shard = new Map()));
    const d = payload.d as unknown as Record<string, unknown> & { guild_id?: string; id?: string };
    const guild = d.guild_id ? shard.get(d.guild_id) : undefined;
    const touched = d.guild_id ?? (payload.t.startsWith('GUILD_') ? d.id : undefined);
    if (touched) this.changed.add(`${shardId}:${touched}`);
    switch (payload.t) {
      case 'READY':
        this.ready.set(shardId, payload.d);
        for (const id of shard.keys()) this.changed.add(`${shardId}:${id}`);
        shard.clear();
        for (const g of payload.d.guilds) shard.set(g.id, { id: g.id, unavailable: true });
        this.changed.add(`${shardId}:READY`);
        return undefined;
      case 'GUILD_CREATE':
        shard.set(d.id!, d as Guild);
        return undefined;
      case 'GUILD_UPDATE': {
        const old = shard.get(d.id!);
        if (old) shard.set(d.id!, { ...old, ...d, channels: old.channels, members: old.members });
        return old && withoutLists(old);
      }
      case 'GUILD_DELETE': {
        const old = shard.get(d.id!);
        if (d.unavailable) shard.set(d.id!, { id: d.id!, unavailable: true });
        else shard.delete(d.id!);
        return old && withoutLists(old);
      }
    }
    if (!guild) return undefined;
    switch (payload.t) {
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE': {
        const old = guild.channels?.find((c) => c.id === d.id);
        guild.channels = upsert(guild.channels, d as { id: string });
        return old;
      }
      case 'CHANNEL_DELETE': {
        const old = guild.channels?.find((c) => c.id === d.id);
        guild.channels = guild.channels?.filter((c) => c.id !== d.id);
        return old;
      }
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        const role = d.role as { id: string };
        const old = guild.roles?.find((r) => r.id === role.id);
        guild.roles = upsert(guild.roles, role);
        return old;
      }
      case 'GUILD_ROLE_DELETE': {
        const old = guild.roles?.find((r) => r.id === d.role_id);
        guild.roles = guild.roles?.filter((r) => r.id !== d.role_id);
        return old;
      }
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE': {
        const { guild_id: _, ...member } = d as unknown as { guild_id: string; user: { id: string } };
        const old = guild.members?.find((m) => m.user.id === member.user.id);
        guild.members = upsertBy(guild.members, member, (m) => m.user.id);
        if (payload.t === 'GUILD_MEMBER_ADD' && !old) guild.member_count = (guild.member_count ?? 0) + 1;
        return old;
      }
      case 'GUILD_MEMBER_REMOVE': {
        const userId = (d.user as { id: string }).id;
        const old = guild.members?.find((m) => m.user.id === userId);
        guild.members = guild.members?.filter((m) => m.user.id !== userId);
        guild.member_count = Math.max(0, (guild.member_count ?? 1) - 1);
        return old;
      }
    }
    return undefined;
  }
}

/** A guild as the `guild:<g>` cache key holds it: without its entity lists. */
function withoutLists(guild: Guild): Record<string, unknown> {
  const { channels: _c, threads: _t, members: _m, presences: _p, voice_states: _v, roles: _r, emojis: _e, ...rest } = guild as Guild & Record<string, unknown>;
  return rest;
}

function upsert<T extends { id: string }>(list: T[] | undefined, item: T): T[] {
  return upsertBy(list, item, (x) => x.id);
}

function upsertBy<T>(list: T[] | undefined, item: T, key: (x: T) => string): T[] {
  const next = (list ?? []).filter((x) => key(x) !== key(item));
  next.push(item);
  return next;
}
