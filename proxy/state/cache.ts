// The Redis state cache, with twilight-dispatch's key table:
//   bot_user, guild:<g>, channel:<c> (private), channel:<g>:<c>, role:<g>:<r>, emoji:<g>:<e>,
//   member:<g>:<u>, presence:<g>:<u>, voice:<g>:<u>, message:<c>:<m>
// and ours for what twilight-dispatch does not cache: sticker:<g>:<s> (with emojis),
// stage_instance:<g>:<i> and scheduled_event:<g>:<e> (with guilds)
// under a configurable prefix; with hash tags the first id is wrapped in {} so one guild's (or
// channel's) keys share a Redis Cluster slot. Writes are pipelined per event. `process` returns
// the previous state for UPDATE/DELETE events (the `old` of the AMQP body) when asked to.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';

export interface StateToggles {
  prefix: string;
  hash_tags: boolean;
  old: boolean;
  guilds: boolean;
  channels: boolean;
  roles: boolean;
  emojis: boolean;
  members: boolean;
  member_ttl_seconds: number;
  messages: boolean;
  message_ttl_seconds: number;
  presences: boolean;
  voice: boolean;
}

type Obj = Record<string, unknown> & { id?: string; guild_id?: string };
type Write = ['set', string, unknown, number] | ['del', string];

export const STATE_KINDS = ['guild', 'channel', 'role', 'emoji', 'sticker', 'stage_instance', 'scheduled_event', 'member', 'presence', 'voice', 'message'] as const;

export class StateCache {
  constructor(
    private readonly redis: Redis,
    private readonly t: StateToggles,
  ) {}

  key(kind: string, ...ids: string[]): string {
    const [first, ...rest] = ids;
    const tagged = this.t.hash_tags && first !== undefined ? `{${first}}` : first;
    return [this.t.prefix + kind, ...(tagged === undefined ? [] : [tagged]), ...rest].join(':');
  }

  /**
   * Applies one dispatch to the cache; resolves with the previous state when `old` applies.
   * `known` is the previous entity from the proxy's guild state (guilds, channels, roles,
   * members; the previous list for GUILD_EMOJIS_UPDATE and GUILD_STICKERS_UPDATE, which send
   * the whole list: what is not in it any more is deleted); only messages, and entities the
   * proxy has not seen, are read back from Redis.
   */
  async process(payload: GatewayDispatchPayload, known?: unknown): Promise<unknown> {
    const d = payload.d as unknown as Obj;
    if (d === null || typeof d !== 'object') return undefined;
    const writes: Write[] = [];
    let oldKey: string | undefined;
    const t = this.t;
    const g = d.guild_id;
    const set = (key: string, value: unknown, ttl = 0) => writes.push(['set', key, value, ttl]);
    const del = (key: string) => writes.push(['del', key]);
    const channelKey = (c: Obj) => (c.guild_id ?? g ? this.key('channel', (c.guild_id ?? g)!, c.id!) : this.key('channel', c.id!));
    /** Sets (CREATE/UPDATE) or deletes (DELETE) the entity under `kind:<g>:<id>`, the previous value as old. */
    const entity = (kind: string) => {
      const key = this.key(kind, g!, d.id!);
      if (!payload.t.endsWith('CREATE')) oldKey = key;
      if (payload.t.endsWith('DELETE')) del(key);
      else set(key, d);
    };
    /** A whole list (emojis, stickers): sets each, deletes the ones `known` had that it lacks. */
    const replaceAll = (kind: string, list: Obj[]): unknown => {
      const keep = new Set(list.map((e) => e.id));
      for (const e of Array.isArray(known) ? (known as Obj[]) : []) if (!keep.has(e.id)) del(this.key(kind, g!, e.id!));
      for (const e of list) set(this.key(kind, g!, e.id!), e);
      return t.old ? known : undefined;
    };

    switch (payload.t) {
      case 'READY':
        if (typeof d.user === 'object' && d.user !== null) set(this.key('bot_user'), d.user);
        break;
      case 'GUILD_CREATE':
      case 'GUILD_UPDATE': {
        const { channels, threads, members, presences, voice_states, roles, emojis, stickers, stage_instances, guild_scheduled_events, ...guild } = d as Obj & Record<string, Obj[] | undefined>;
        if (payload.t === 'GUILD_UPDATE') oldKey = this.key('guild', d.id!);
        if (t.guilds) set(this.key('guild', d.id!), guild);
        if (t.channels) for (const c of [...(channels ?? []), ...(threads ?? [])]) set(this.key('channel', d.id!, c.id!), { ...c, guild_id: d.id });
        if (t.roles) for (const r of roles ?? []) set(this.key('role', d.id!, r.id!), r);
        if (t.emojis) for (const e of emojis ?? []) set(this.key('emoji', d.id!, e.id!), e);
        if (t.emojis) for (const e of stickers ?? []) set(this.key('sticker', d.id!, e.id!), e);
        if (t.guilds) for (const e of stage_instances ?? []) set(this.key('stage_instance', d.id!, e.id!), e);
        if (t.guilds) for (const e of guild_scheduled_events ?? []) set(this.key('scheduled_event', d.id!, e.id!), e);
        if (t.members) for (const m of members ?? []) set(this.key('member', d.id!, (m.user as Obj).id!), m, t.member_ttl_seconds);
        if (t.presences) for (const p of presences ?? []) set(this.key('presence', d.id!, (p.user as Obj).id!), p);
        if (t.voice) for (const v of voice_states ?? []) set(this.key('voice', d.id!, v.user_id as string), v);
        break;
      }
      case 'GUILD_DELETE':
        if (!(d as { unavailable?: boolean }).unavailable) {
          oldKey = this.key('guild', d.id!);
          del(oldKey);
        }
        break;
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE':
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE':
        if (!t.channels) break;
        if (payload.t.endsWith('UPDATE')) oldKey = channelKey(d);
        set(channelKey(d), d);
        break;
      case 'CHANNEL_DELETE':
      case 'THREAD_DELETE':
        if (!t.channels) break;
        oldKey = channelKey(d);
        del(oldKey);
        break;
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        if (!t.roles) break;
        const role = (d as { role: Obj }).role;
        if (payload.t === 'GUILD_ROLE_UPDATE') oldKey = this.key('role', g!, role.id!);
        set(this.key('role', g!, role.id!), role);
        break;
      }
      case 'GUILD_ROLE_DELETE':
        if (!t.roles) break;
        oldKey = this.key('role', g!, (d as { role_id: string }).role_id);
        del(oldKey);
        break;
      case 'GUILD_EMOJIS_UPDATE':
        if (!t.emojis || !Array.isArray(d.emojis)) break;
        return this.write(writes, replaceAll('emoji', d.emojis as Obj[]));
      case 'GUILD_STICKERS_UPDATE':
        if (!t.emojis || !Array.isArray(d.stickers)) break;
        return this.write(writes, replaceAll('sticker', d.stickers as Obj[]));
      case 'STAGE_INSTANCE_CREATE':
      case 'STAGE_INSTANCE_UPDATE':
      case 'STAGE_INSTANCE_DELETE':
        if (t.guilds && g) entity('stage_instance');
        break;
      case 'GUILD_SCHEDULED_EVENT_CREATE':
      case 'GUILD_SCHEDULED_EVENT_UPDATE':
      case 'GUILD_SCHEDULED_EVENT_DELETE':
        if (t.guilds && g) entity('scheduled_event');
        break;
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE': {
        if (!t.members) break;
        const { guild_id: _, ...member } = d;
        const key = this.key('member', g!, (d.user as Obj).id!);
        if (payload.t === 'GUILD_MEMBER_UPDATE') oldKey = key;
        set(key, member, t.member_ttl_seconds);
        break;
      }
      case 'GUILD_MEMBER_REMOVE':
        if (!t.members) break;
        oldKey = this.key('member', g!, (d.user as Obj).id!);
        del(oldKey);
        break;
      case 'PRESENCE_UPDATE':
        if (t.presences && g) set(this.key('presence', g, (d.user as Obj).id!), d);
        break;
      case 'VOICE_STATE_UPDATE':
        if (!t.voice || !g) break;
        if (d.channel_id) set(this.key('voice', g, d.user_id as string), d);
        else del(this.key('voice', g, d.user_id as string));
        break;
      case 'MESSAGE_CREATE':
        if (t.messages) set(this.key('message', d.channel_id as string, d.id!), d, t.message_ttl_seconds);
        break;
      case 'MESSAGE_UPDATE': {
        if (!t.messages) break;
        oldKey = this.key('message', d.channel_id as string, d.id!);
        // An update may be partial: merge it over what we had.
        const before = await this.get(oldKey);
        set(oldKey, { ...(before as Obj | undefined), ...d }, t.message_ttl_seconds);
        return this.write(writes, t.old ? before : undefined);
      }
      case 'MESSAGE_DELETE':
        if (!t.messages) break;
        oldKey = this.key('message', d.channel_id as string, d.id!);
        del(oldKey);
        break;
      case 'MESSAGE_DELETE_BULK':
        if (t.messages) for (const id of (d as { ids: string[] }).ids) del(this.key('message', d.channel_id as string, id));
        break;
    }
    const old = t.old && oldKey ? (known ?? (await this.get(oldKey))) : undefined;
    return this.write(writes, old);
  }

  private async get(key: string): Promise<unknown> {
    const raw = await this.redis.get(key);
    return raw === null ? undefined : JSON.parse(raw);
  }

  private async write(writes: Write[], old: unknown): Promise<unknown> {
    if (writes.length === 0) return old;
    const pipeline = this.redis.pipeline();
    for (const w of writes) {
      if (w[0] === 'del') pipeline.del(w[1]);
      else if (w[3] > 0) pipeline.set(w[1], JSON.stringify(w[2]), 'EX', w[3]);
      else pipeline.set(w[1], JSON.stringify(w[2]));
    }
    await pipeline.exec();
    return old;
  }

  /** Cached objects per kind, for the state_* gauges (SCAN, so only at scrape time). */
  async counts(): Promise<Record<(typeof STATE_KINDS)[number], number>> {
    const counts = Object.fromEntries(STATE_KINDS.map((k) => [k, 0])) as Record<(typeof STATE_KINDS)[number], number>;
    for (const kind of STATE_KINDS) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.t.prefix}${kind}:*`, 'COUNT', 1000);
        cursor = next;
        counts[kind] += keys.length;
      } while (cursor !== '0');
    }
    return counts;
  }
}
