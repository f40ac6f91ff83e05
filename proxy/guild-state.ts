// The guilds each upstream shard holds, kept current from its dispatches: the source of the
// READY guild list and of the GUILD_CREATEs the proxy serves to bots. Every event that changes
// what a GUILD_CREATE carries is applied here, so a bot behind the proxy sees the guild that a
// bot connected straight to Discord sees. A guild is held as its base fields plus one map per
// entity list, and changes are recorded per entity for the store (proxy/guild-store.ts).
import type { GatewayDispatchPayload, GatewayGuildCreateDispatchData, GatewayReadyDispatchData } from 'discord-api-types/v10';
import { guildCreateFor as trimForSession } from '../internal/gateway/guild-create';

type Entity = Record<string, unknown>;

/** GUILD_CREATE's entity lists and the id each entity is keyed by. */
const LISTS = {
  roles: (e: Entity) => e.id,
  emojis: (e: Entity) => e.id,
  stickers: (e: Entity) => e.id,
  channels: (e: Entity) => e.id,
  threads: (e: Entity) => e.id,
  members: (e: Entity) => (e.user as Entity | undefined)?.id,
  presences: (e: Entity) => (e.user as Entity | undefined)?.id,
  voice_states: (e: Entity) => e.user_id,
  stage_instances: (e: Entity) => e.id,
  guild_scheduled_events: (e: Entity) => e.id,
  soundboard_sounds: (e: Entity) => e.sound_id,
} as const;
export type ListName = keyof typeof LISTS;
export const LIST_NAMES = Object.keys(LISTS) as ListName[];

interface GuildEntry {
  /** The guild's own fields (GUILD_CREATE's joined_at, large, member_count... included). */
  base: Entity & { id: string; unavailable?: boolean; member_count?: number };
  lists: Record<ListName, Map<string, Entity>>;
}

/**
 * One persisted unit: a guild's `base`, one entity (`<list>:<id>`), or the whole guild (`*`,
 * after a GUILD_CREATE, READY or GUILD_DELETE replaced it). `guild` 'READY' is the shard's READY.
 */
export interface Change {
  shard: number;
  guild: string;
  field: string;
}

export class GuildState {
  private readonly guilds = new Map<number, Map<string, GuildEntry>>();
  private readonly ready = new Map<number, GatewayReadyDispatchData>();
  private readonly changed = new Map<string, Change>();

  /** What changed since the last call, for persistence. */
  takeChanges(): Change[] {
    const changes = [...this.changed.values()];
    this.changed.clear();
    return changes;
  }

  /** Puts changes back (a failed write), unless newer ones already cover them. */
  requeue(changes: Change[]): void {
    for (const c of changes) this.mark(c.shard, c.guild, c.field);
  }

  /** Restores what a previous run persisted (before the upstream RESUMEs). */
  restore(shardId: number, ready: GatewayReadyDispatchData | undefined, guilds: Record<string, string>[]): void {
    if (ready) this.ready.set(shardId, ready);
    const shard = new Map<string, GuildEntry>();
    for (const fields of guilds) {
      const base = fields.base ? (JSON.parse(fields.base) as GuildEntry['base']) : undefined;
      if (!base) continue;
      const entry = emptyEntry(base);
      for (const [field, json] of Object.entries(fields)) {
        const colon = field.indexOf(':');
        if (colon < 0) continue;
        const list = field.slice(0, colon);
        if (list in LISTS) entry.lists[list as ListName].set(field.slice(colon + 1), JSON.parse(json) as Entity);
      }
      shard.set(base.id, entry);
    }
    this.guilds.set(shardId, shard);
  }

  readyOf(shardId: number): GatewayReadyDispatchData | undefined {
    return this.ready.get(shardId);
  }

  /** Guild ids of the shard: READY's list, with the ones created or deleted since. */
  guildIds(shardId: number): string[] {
    return [...(this.guilds.get(shardId)?.keys() ?? [])];
  }

  /** The full GUILD_CREATE as the proxy holds it (all members and presences the upstream got). */
  guildCreate(shardId: number, guildId: string): (Entity & { id: string; unavailable?: boolean }) | undefined {
    const entry = this.guilds.get(shardId)?.get(guildId);
    if (!entry) return undefined;
    if (entry.base.unavailable) return { ...entry.base };
    const lists = Object.fromEntries(LIST_NAMES.map((name) => [name, [...entry.lists[name].values()]]));
    return { ...entry.base, ...lists };
  }

  /**
   * The GUILD_CREATE a bot identified with `intents` gets, trimmed as Discord trims it (members
   * and presences by the GUILD_MEMBERS and GUILD_PRESENCES intents, offline members of large
   * guilds); undefined while the guild is unavailable or unknown.
   */
  guildCreateFor(shardId: number, guildId: string, intents: number, largeThreshold = 50): GatewayGuildCreateDispatchData | undefined {
    const guild = this.guildCreate(shardId, guildId);
    const botId = this.ready.get(shardId)?.user.id;
    if (!guild || guild.unavailable || !botId) return undefined;
    return trimForSession(guild as unknown as GatewayGuildCreateDispatchData, { intents, largeThreshold }, botId);
  }

  /** Persisted form of one unit: JSON, or undefined when it no longer exists. */
  field(shardId: number, guildId: string, field: string): string | undefined {
    const entry = this.guilds.get(shardId)?.get(guildId);
    if (!entry) return undefined;
    if (field === 'base') return JSON.stringify(entry.base);
    const colon = field.indexOf(':');
    const value = entry.lists[field.slice(0, colon) as ListName]?.get(field.slice(colon + 1));
    return value === undefined ? undefined : JSON.stringify(value);
  }

  /** Every persisted unit of a guild, for a whole rewrite; undefined when the guild is gone. */
  fields(shardId: number, guildId: string): Record<string, string> | undefined {
    const entry = this.guilds.get(shardId)?.get(guildId);
    if (!entry) return undefined;
    const out: Record<string, string> = { base: JSON.stringify(entry.base) };
    for (const name of LIST_NAMES) for (const [id, e] of entry.lists[name]) out[`${name}:${id}`] = JSON.stringify(e);
    return out;
  }

  count(): number {
    let n = 0;
    for (const g of this.guilds.values()) n += g.size;
    return n;
  }

  /**
   * Applies one dispatch. Returns the entity as it was before an UPDATE/DELETE (guild without
   * its lists, channel, thread, role or member), which the state cache publishes as `old`: the
   * bots' GUILD_CREATEs and the consumers' `old` come from this one state.
   */
  apply(shardId: number, payload: GatewayDispatchPayload): unknown {
    if (payload.d === null || typeof payload.d !== 'object') return undefined;
    let shard = this.guilds.get(shardId);
    if (!shard) this.guilds.set(shardId, (shard = new Map()));
    switch (payload.t) {
      case 'READY':
        this.ready.set(shardId, payload.d);
        for (const id of shard.keys()) this.mark(shardId, id, '*');
        shard.clear();
        for (const g of payload.d.guilds) {
          shard.set(g.id, emptyEntry({ id: g.id, unavailable: true }));
          this.mark(shardId, g.id, '*');
        }
        this.mark(shardId, 'READY', '*');
        return undefined;
      case 'GUILD_CREATE': {
        const entry = emptyEntry({ id: payload.d.id });
        const d = payload.d as unknown as Entity;
        for (const [key, value] of Object.entries(d)) {
          if (key in LISTS) {
            for (const e of Array.isArray(value) ? (value as Entity[]) : []) entry.lists[key as ListName].set(String(LISTS[key as ListName](e)), e);
          } else entry.base[key] = value;
        }
        shard.set(payload.d.id, entry);
        this.mark(shardId, payload.d.id, '*');
        return undefined;
      }
      case 'GUILD_DELETE': {
        const old = shard.get(payload.d.id);
        if (payload.d.unavailable) shard.set(payload.d.id, emptyEntry({ id: payload.d.id, unavailable: true }));
        else shard.delete(payload.d.id);
        this.mark(shardId, payload.d.id, '*');
        return old && { ...old.base };
      }
      case 'GUILD_UPDATE': {
        const entry = shard.get(payload.d.id);
        if (!entry) return undefined;
        const old = { ...entry.base };
        // GUILD_UPDATE carries the guild with its roles, emojis and stickers, without the
        // GUILD_CREATE-only fields (joined_at, member_count...), which stay as they were.
        for (const [key, value] of Object.entries(payload.d as unknown as Entity)) {
          if (key in LISTS) this.replaceList(shardId, payload.d.id, entry, key as ListName, value as Entity[]);
          else entry.base[key] = value;
        }
        this.mark(shardId, payload.d.id, 'base');
        return old;
      }
    }
    const guildId = 'guild_id' in payload.d && typeof payload.d.guild_id === 'string' ? payload.d.guild_id : undefined;
    const entry = guildId ? shard.get(guildId) : undefined;
    if (!guildId || !entry || entry.base.unavailable) return undefined;
    const ops = new ListOps(this, shardId, guildId, entry);
    switch (payload.t) {
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE':
        return ops.put('channels', payload.d as unknown as Entity);
      case 'CHANNEL_DELETE':
        // A deleted channel's threads go with it (Discord sends no THREAD_DELETE for them).
        for (const [id, t] of entry.lists.threads) if (t.parent_id === payload.d.id) ops.remove('threads', id);
        return ops.remove('channels', payload.d.id);
      case 'CHANNEL_PINS_UPDATE':
        return void ops.patch(entry.lists.channels.has(payload.d.channel_id) ? 'channels' : 'threads', payload.d.channel_id, { last_pin_timestamp: payload.d.last_pin_timestamp ?? null });
      case 'MESSAGE_CREATE': {
        const thread = entry.lists.threads.get(payload.d.channel_id);
        if (!thread) return void ops.patch('channels', payload.d.channel_id, { last_message_id: payload.d.id });
        // A thread also counts its messages (no THREAD_UPDATE is sent for these).
        const count = (key: string) => (typeof thread[key] === 'number' ? (thread[key] as number) : 0) + 1;
        return void ops.patch('threads', payload.d.channel_id, { last_message_id: payload.d.id, message_count: count('message_count'), total_message_sent: count('total_message_sent') });
      }
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE': {
        // GUILD_CREATE lists active threads only: an archived thread leaves the list.
        const { newly_created: _n, guild_id: _g, ...thread } = payload.d as unknown as Entity & { newly_created?: boolean };
        if ((thread.thread_metadata as { archived?: boolean } | undefined)?.archived) return ops.remove('threads', String(thread.id));
        return ops.put('threads', { ...thread, guild_id: guildId });
      }
      case 'THREAD_DELETE':
        return ops.remove('threads', payload.d.id);
      case 'THREAD_LIST_SYNC': {
        // The threads of these channels (all, without channel_ids) are replaced by the list sent.
        const parents = payload.d.channel_ids ? new Set(payload.d.channel_ids) : undefined;
        for (const [id, t] of entry.lists.threads) if (!parents || parents.has(String(t.parent_id))) ops.remove('threads', id);
        for (const t of payload.d.threads ?? []) ops.put('threads', t as unknown as Entity);
        return undefined;
      }
      case 'THREAD_MEMBERS_UPDATE':
        return void ops.patch('threads', payload.d.id, { member_count: payload.d.member_count });
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE':
        return ops.put('roles', payload.d.role as unknown as Entity);
      case 'GUILD_ROLE_DELETE':
        // Members lose the role without a GUILD_MEMBER_UPDATE each.
        for (const m of entry.lists.members.values()) {
          const roles = m.roles as string[] | undefined;
          if (roles?.includes(payload.d.role_id)) ops.put('members', { ...m, roles: roles.filter((r) => r !== payload.d.role_id) });
        }
        return ops.remove('roles', payload.d.role_id);
      case 'GUILD_EMOJIS_UPDATE':
        return void this.replaceList(shardId, guildId, entry, 'emojis', payload.d.emojis as unknown as Entity[]);
      case 'GUILD_STICKERS_UPDATE':
        return void this.replaceList(shardId, guildId, entry, 'stickers', payload.d.stickers as unknown as Entity[]);
      case 'GUILD_MEMBER_ADD': {
        const { guild_id: _, ...member } = payload.d;
        const old = ops.put('members', member as unknown as Entity);
        if (!old) ops.count(+1);
        return old;
      }
      case 'GUILD_MEMBER_UPDATE': {
        // An update may leave out fields (deaf, mute...): merge it over the member we had.
        const { guild_id: _, ...member } = payload.d;
        const old = entry.lists.members.get(String(member.user?.id));
        return ops.put('members', { ...old, ...(member as unknown as Entity) });
      }
      case 'GUILD_MEMBER_REMOVE': {
        const userId = String(payload.d.user?.id);
        const old = ops.remove('members', userId);
        // A large guild's member list is partial: its count still drops.
        if (old || entry.lists.members.size < (entry.base.member_count ?? 0)) ops.count(-1);
        ops.remove('presences', userId);
        ops.remove('voice_states', userId);
        return old;
      }
      case 'PRESENCE_UPDATE': {
        // GUILD_CREATE's presences are the online members'.
        if (payload.d.status === 'offline') return void ops.remove('presences', String(payload.d.user?.id));
        return void ops.put('presences', payload.d as unknown as Entity);
      }
      case 'VOICE_STATE_UPDATE': {
        // GUILD_CREATE's voice states carry neither guild_id nor member; leaving voice ends one.
        const { guild_id: _, member: _m, ...voice } = payload.d;
        if (voice.channel_id === null) return void ops.remove('voice_states', voice.user_id);
        return void ops.put('voice_states', voice as unknown as Entity);
      }
      case 'STAGE_INSTANCE_CREATE':
      case 'STAGE_INSTANCE_UPDATE':
        return void ops.put('stage_instances', payload.d as unknown as Entity);
      case 'STAGE_INSTANCE_DELETE':
        return void ops.remove('stage_instances', payload.d.id);
      case 'GUILD_SCHEDULED_EVENT_CREATE':
      case 'GUILD_SCHEDULED_EVENT_UPDATE':
        return void ops.put('guild_scheduled_events', payload.d as unknown as Entity);
      case 'GUILD_SCHEDULED_EVENT_DELETE':
        return void ops.remove('guild_scheduled_events', payload.d.id);
      case 'GUILD_SOUNDBOARD_SOUND_CREATE':
      case 'GUILD_SOUNDBOARD_SOUND_UPDATE':
        return void ops.put('soundboard_sounds', payload.d as unknown as Entity);
      case 'GUILD_SOUNDBOARD_SOUND_DELETE':
        return void ops.remove('soundboard_sounds', payload.d.sound_id);
      case 'GUILD_SOUNDBOARD_SOUNDS_UPDATE':
        return void this.replaceList(shardId, guildId, entry, 'soundboard_sounds', payload.d.soundboard_sounds as unknown as Entity[]);
    }
    return undefined;
  }

  /** @internal for ListOps */
  mark(shard: number, guild: string, field: string): void {
    const whole = `${shard}:${guild}:*`;
    if (this.changed.has(whole)) return;
    if (field === '*') for (const [key, c] of this.changed) if (c.shard === shard && c.guild === guild) this.changed.delete(key);
    this.changed.set(`${shard}:${guild}:${field}`, { shard, guild, field });
  }

  private replaceList(shardId: number, guildId: string, entry: GuildEntry, name: ListName, list: Entity[] | undefined): void {
    if (!Array.isArray(list)) return;
    const ops = new ListOps(this, shardId, guildId, entry);
    const keep = new Set(list.map((e) => String(LISTS[name](e))));
    for (const id of [...entry.lists[name].keys()]) if (!keep.has(id)) ops.remove(name, id);
    for (const e of list) ops.put(name, e);
  }
}

/** Edits of one guild's lists, each recorded as a change of that one entity. */
class ListOps {
  constructor(
    private readonly state: GuildState,
    private readonly shard: number,
    private readonly guild: string,
    private readonly entry: GuildEntry,
  ) {}

  /** Sets the entity; returns the one it replaced. An entity without its id is ignored. */
  put(name: ListName, e: Entity): Entity | undefined {
    const key = LISTS[name](e);
    if (typeof key !== 'string') return undefined;
    const id = key;
    const old = this.entry.lists[name].get(id);
    this.entry.lists[name].set(id, e);
    this.state.mark(this.shard, this.guild, `${name}:${id}`);
    return old;
  }

  remove(name: ListName, id: string): Entity | undefined {
    const old = this.entry.lists[name].get(id);
    if (!old) return undefined;
    this.entry.lists[name].delete(id);
    this.state.mark(this.shard, this.guild, `${name}:${id}`);
    return old;
  }

  /** Changes fields of a known entity (a channel's last_message_id...). */
  patch(name: ListName, id: string, fields: Entity): void {
    const e = this.entry.lists[name].get(id);
    if (e) this.put(name, { ...e, ...fields });
  }

  count(delta: number): void {
    this.entry.base.member_count = Math.max(0, (this.entry.base.member_count ?? 0) + delta);
    this.state.mark(this.shard, this.guild, 'base');
  }
}

function emptyEntry(base: GuildEntry['base']): GuildEntry {
  return { base, lists: Object.fromEntries(LIST_NAMES.map((name) => [name, new Map()])) as GuildEntry['lists'] };
}
