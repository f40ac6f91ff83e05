// The guilds each upstream shard holds, kept current from its dispatches: the source of the
// READY guild list and of the GUILD_CREATEs the proxy serves to bots. Every event that changes
// what a GUILD_CREATE carries is applied here, so a bot behind the proxy sees the guild that a
// bot connected straight to Discord sees. A guild is held as its base fields plus one map per
// entity list, and changes are recorded per entity for the store (proxy/guild-store.ts).
// Per-kind switches (`proxy.guild_state`) leave kinds out of memory altogether: what is not
// kept is neither held, persisted nor served.
import type { GatewayDispatchPayload, GatewayGuildCreateDispatchData, GatewayReadyDispatchData } from 'discord-api-types/v10';
import { guildCreateFor as trimForSession } from '../internal/gateway/guild-create';
import { pack, unpack } from './entity-codec';

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

/**
 * Kinds held as JSON (heap profile in the README), packed (entity-codec.ts): a third of their
 * objects' size. Channels and threads stay objects: every message patches their last_message_id.
 */
const SERIALIZED: ReadonlySet<ListName> = new Set(LIST_NAMES.filter((name) => name !== 'channels' && name !== 'threads'));

/** Where `flat` puts its result, so that the conversion is never optimized away. */
let _flattened = 0;

/**
 * `json` as one flat string. JSON.stringify builds its result as a tree of pieces (a cons
 * string, 32 bytes a node) that V8 keeps until the string is flattened: converting it to a
 * number flattens it, and the garbage collector then drops the pieces (about 140 bytes a member).
 */
function flat(json: string): string {
  _flattened = Number(json);
  return json;
}

const NO_IDS: readonly string[] = [];

/**
 * One entity list by id: objects, or their JSON decoded on each read for the serialized kinds.
 * Most lists of most guilds are empty (no stickers, no stage): the map exists only while one is not.
 */
class EntityList {
  private map: Map<string, Entity | string> | undefined;
  constructor(
    private readonly serialized: boolean,
    /** The guild's id: the one string its objects' guild_id point to. */
    private readonly guildId: string,
  ) {}

  get size(): number {
    return this.map?.size ?? 0;
  }

  has(id: string): boolean {
    return this.map?.has(id) ?? false;
  }

  get(id: string): Entity | undefined {
    const v = this.map?.get(id);
    return typeof v === 'string' ? (JSON.parse(unpack(v)) as Entity) : v;
  }

  /** The persisted form: JSON, packed for the serialized kinds (the string held, not a copy). */
  stored(id: string): string | undefined {
    const v = this.map?.get(id);
    return typeof v === 'string' || v === undefined ? v : JSON.stringify(v);
  }

  set(id: string, e: Entity): void {
    if (!this.serialized) {
      // Ids repeated in every channel share one string: the guild's, and the parent's own.
      if (e.guild_id === this.guildId) e.guild_id = this.guildId;
      const parent = typeof e.parent_id === 'string' ? this.map?.get(e.parent_id) : undefined;
      if (typeof parent === 'object' && parent.id === e.parent_id) e.parent_id = parent.id;
    }
    (this.map ??= new Map()).set(id, this.serialized ? flat(pack(JSON.stringify(e))) : e);
  }

  delete(id: string): boolean {
    const deleted = this.map?.delete(id) ?? false;
    if (this.map?.size === 0) this.map = undefined;
    return deleted;
  }

  keys(): IterableIterator<string> {
    return this.map?.keys() ?? NO_IDS[Symbol.iterator]();
  }

  *values(): IterableIterator<Entity> {
    for (const id of this.keys()) yield this.get(id)!;
  }

  *[Symbol.iterator](): IterableIterator<[string, Entity]> {
    for (const id of this.keys()) yield [id, this.get(id)!];
  }
}

interface GuildEntry {
  /** The guild's own fields (GUILD_CREATE's joined_at, large, member_count... included). */
  base: Entity & { id: string; unavailable?: boolean; member_count?: number };
  lists: Record<ListName, EntityList>;
}

/** Which entities the state keeps (config `proxy.guild_state`). */
export interface GuildStateOptions {
  /** all: every member Discord sends; self: what Discord sends without GUILD_MEMBERS (the bot, members in voice); none. */
  members: 'all' | 'self' | 'none';
  presences: boolean;
  voice_states: boolean;
  emojis_stickers: boolean;
  threads: boolean;
}

/** What a discord.js bot with default caches expects. */
export const KEEP_ALL: GuildStateOptions = { members: 'all', presences: true, voice_states: true, emojis_stickers: true, threads: true };

/**
 * One persisted unit: a guild's `base`, one entity (`<list>:<id>`), or the whole guild (`*`,
 * after a GUILD_CREATE, READY or GUILD_DELETE replaced it). `guild` 'READY' is the shard's READY.
 */
export interface Change {
  shard: number;
  guild: string;
  field: string;
}

/** Where a shard's state stands in its upstream session: the last `s` applied. */
export interface Position {
  session_id: string;
  s: number;
}

export class GuildState {
  private readonly guilds = new Map<number, Map<string, GuildEntry>>();
  private readonly ready = new Map<number, GatewayReadyDispatchData>();
  private readonly changed = new Map<string, Change>();
  private readonly seqs = new Map<number, number>();
  /** Per shard, the `s` the restored state already reflects: a RESUME replays up to it again. */
  private readonly replayedUpTo = new Map<number, number>();

  constructor(private readonly keep: GuildStateOptions = KEEP_ALL) {}

  /** @internal for ListOps: whether the switches keep this entity of the shard's guild. */
  keeps(shardId: number, name: ListName, e: Entity, inVoice: (userId: string) => boolean): boolean {
    switch (name) {
      case 'members': {
        if (this.keep.members !== 'self') return this.keep.members === 'all';
        const id = String(LISTS.members(e));
        return id === this.ready.get(shardId)?.user.id || inVoice(id);
      }
      case 'presences':
        return this.keep.presences;
      case 'voice_states':
        return this.keep.voice_states;
      case 'emojis':
      case 'stickers':
        return this.keep.emojis_stickers;
      case 'threads':
        return this.keep.threads;
      default:
        return true;
    }
  }

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
        if (!(list in LISTS)) continue;
        // Packed (entity-codec.ts) or plain JSON, which unpacks to itself.
        const e = JSON.parse(unpack(json)) as Entity;
        if (this.keeps(shardId, list as ListName, e, (id) => fields[`voice_states:${id}`] !== undefined)) entry.lists[list as ListName].set(field.slice(colon + 1), e);
      }
      shard.set(base.id, entry);
    }
    this.guilds.set(shardId, shard);
  }

  readyOf(shardId: number): GatewayReadyDispatchData | undefined {
    return this.ready.get(shardId);
  }

  /** The session and last `s` the shard's state reflects; undefined before both are known. */
  position(shardId: number): Position | undefined {
    const session_id = this.ready.get(shardId)?.session_id;
    const s = this.seqs.get(shardId);
    return typeof session_id === 'string' && s !== undefined ? { session_id, s } : undefined;
  }

  /**
   * The restored state reflects the session up to `s`, and the upstream RESUMEs that session
   * from an `s` persisted apart: dispatches at or below it are replays and are not applied
   * again (a GUILD_MEMBER_ADD twice would count the member twice).
   */
  skipReplayed(shardId: number, s: number): void {
    this.replayedUpTo.set(shardId, s);
    this.seqs.set(shardId, s);
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
    const full = guild as unknown as GatewayGuildCreateDispatchData;
    if (this.keep.presences) return trimForSession(full, { intents, largeThreshold }, botId);
    // Without presences, who is online is unknown: the members held (Discord's online ones for a
    // large guild, with those seen since) are served as they are.
    return { ...trimForSession(full, { intents, largeThreshold: Number.POSITIVE_INFINITY }, botId), large: full.member_count > largeThreshold };
  }

  /** Persisted form of one unit (JSON, packed for the serialized kinds), or undefined when it no longer exists. */
  field(shardId: number, guildId: string, field: string): string | undefined {
    const entry = this.guilds.get(shardId)?.get(guildId);
    if (!entry) return undefined;
    if (field === 'base') return JSON.stringify(entry.base);
    const colon = field.indexOf(':');
    return entry.lists[field.slice(0, colon) as ListName]?.stored(field.slice(colon + 1));
  }

  /** Every persisted unit of a guild, for a whole rewrite; undefined when the guild is gone. */
  fields(shardId: number, guildId: string): Record<string, string> | undefined {
    const entry = this.guilds.get(shardId)?.get(guildId);
    if (!entry) return undefined;
    const out: Record<string, string> = { base: JSON.stringify(entry.base) };
    for (const name of LIST_NAMES) for (const id of entry.lists[name].keys()) out[`${name}:${id}`] = entry.lists[name].stored(id)!;
    return out;
  }

  count(): number {
    let n = 0;
    for (const g of this.guilds.values()) n += g.size;
    return n;
  }

  /** Guilds READY listed whose GUILD_CREATE has not come (or that Discord reports unavailable). */
  awaited(): number {
    let n = 0;
    for (const g of this.guilds.values()) for (const entry of g.values()) if (entry.base.unavailable) n++;
    return n;
  }

  /**
   * Applies one dispatch. Returns the entity as it was before an UPDATE/DELETE (guild without
   * its lists, channel, thread, role or member), which the state cache publishes as `old`: the
   * bots' GUILD_CREATEs and the consumers' `old` come from this one state.
   */
  apply(shardId: number, payload: GatewayDispatchPayload): unknown {
    if (payload.t === 'READY') this.replayedUpTo.delete(shardId);
    if (typeof payload.s === 'number') {
      const replayedUpTo = this.replayedUpTo.get(shardId);
      if (replayedUpTo !== undefined && payload.s <= replayedUpTo) return undefined;
      this.replayedUpTo.delete(shardId);
      this.seqs.set(shardId, payload.s);
    }
    if (payload.d === null || typeof payload.d !== 'object') return undefined;
    let shard = this.guilds.get(shardId);
    if (!shard) this.guilds.set(shardId, (shard = new Map()));
    switch (payload.t) {
      case 'READY': {
        // A READY the proxy cannot serve bots from (no user, session or guild list) is ignored:
        // the state of the last good one is kept rather than emptied.
        const d = payload.d as Partial<GatewayReadyDispatchData>;
        if (typeof d.user?.id !== 'string' || typeof d.session_id !== 'string' || !Array.isArray(d.guilds)) return undefined;
        this.ready.set(shardId, payload.d);
        for (const id of shard.keys()) this.mark(shardId, id, '*');
        shard.clear();
        for (const g of d.guilds) {
          if (typeof g?.id !== 'string') continue;
          shard.set(g.id, emptyEntry({ id: g.id, unavailable: true }));
          this.mark(shardId, g.id, '*');
        }
        this.mark(shardId, 'READY', '*');
        return undefined;
      }
      case 'GUILD_CREATE': {
        const entry = emptyEntry({ id: payload.d.id });
        const d = payload.d as unknown as Entity;
        const voice = new Set((payload.d.voice_states ?? []).map((v) => v.user_id));
        const inVoice = (id: string) => voice.has(id);
        for (const [key, value] of Object.entries(d)) {
          if (key in LISTS) {
            for (const e of Array.isArray(value) ? (value as Entity[]) : []) {
              if (this.keeps(shardId, key as ListName, e, inVoice)) entry.lists[key as ListName].set(String(LISTS[key as ListName](e)), e);
            }
          } else entry.base[key] = value;
        }
        entry.base = compact(entry.base);
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
        entry.base = compact(entry.base);
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
      // The whole list is sent: the old one is what the state cache deletes the missing ones by.
      case 'GUILD_EMOJIS_UPDATE':
        return this.replaceList(shardId, guildId, entry, 'emojis', payload.d.emojis as unknown as Entity[]);
      case 'GUILD_STICKERS_UPDATE':
        return this.replaceList(shardId, guildId, entry, 'stickers', payload.d.stickers as unknown as Entity[]);
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

  /** Replaces one entity list; returns the list it replaced. */
  private replaceList(shardId: number, guildId: string, entry: GuildEntry, name: ListName, list: Entity[] | undefined): Entity[] | undefined {
    if (!Array.isArray(list)) return undefined;
    const old = [...entry.lists[name].values()];
    const ops = new ListOps(this, shardId, guildId, entry);
    const keep = new Set(list.map((e) => String(LISTS[name](e))));
    for (const id of [...entry.lists[name].keys()]) if (!keep.has(id)) ops.remove(name, id);
    for (const e of list) ops.put(name, e);
    return old;
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
    if (!this.state.keeps(this.shard, name, e, (userId) => this.entry.lists.voice_states.has(userId))) return this.remove(name, id);
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
  return { base, lists: Object.fromEntries(LIST_NAMES.map((name) => [name, new EntityList(SERIALIZED.has(name), base.id)])) as GuildEntry['lists'] };
}

/**
 * A guild's own fields, set one by one under computed keys, leave V8's object in dictionary
 * mode (about 1.5 KB a guild); the same object parsed from JSON has fast properties.
 */
function compact(base: GuildEntry['base']): GuildEntry['base'] {
  return JSON.parse(JSON.stringify(base)) as GuildEntry['base'];
}
