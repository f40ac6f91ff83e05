// The gateway events a mirror node acts on, parsed at the edge: a body that is not what the proxy
// publishes is named and dropped, never thrown into a lane. The rest of mirror/ sees only these.
import type { GatewayMessageCreateDispatchData, GatewayMessageUpdateDispatchData } from 'discord-api-types/v10';

export const MIRROR_EVENTS = ['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK', 'CHANNEL_DELETE', 'GUILD_DELETE'] as const;

export type MirrorEvent =
  | { kind: 'create'; channelId: string; message: GatewayMessageCreateDispatchData }
  | { kind: 'update'; channelId: string; message: GatewayMessageUpdateDispatchData }
  | { kind: 'delete'; channelId: string; ids: string[] }
  | { kind: 'channel_delete'; channelId: string }
  | { kind: 'guild_delete'; guildId: string };

export type Parsed = { ok: true; event: MirrorEvent } | { ok: false; error: string };

const SNOWFLAKE = /^\d{1,20}$/;
const isSnowflake = (v: unknown): v is string => typeof v === 'string' && SNOWFLAKE.test(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key events are partitioned and laned by: the source channel (the guild for GUILD_DELETE). */
export function laneKey(event: MirrorEvent): string {
  return event.kind === 'guild_delete' ? `guild:${event.guildId}` : event.channelId;
}

export function parseEvent(raw: Buffer): Parsed {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, error: 'body is not JSON' };
  }
  if (!isObject(body)) return { ok: false, error: 'body is not an object' };
  const { t, d } = body;
  if (!isObject(d)) return { ok: false, error: 'd is not an object' };
  const bad = (field: string) => ({ ok: false as const, error: `${String(t)}: ${field} is missing or not a Discord id` });
  switch (t) {
    case 'MESSAGE_CREATE':
    case 'MESSAGE_UPDATE': {
      if (!isSnowflake(d.id)) return bad('d.id');
      if (!isSnowflake(d.channel_id)) return bad('d.channel_id');
      if (t === 'MESSAGE_CREATE' && !isObject(d.author)) return { ok: false, error: 'MESSAGE_CREATE: d.author is not an object' };
      if (d.content !== undefined && typeof d.content !== 'string') return { ok: false, error: `${t}: d.content is not a string` };
      return t === 'MESSAGE_CREATE'
        ? { ok: true, event: { kind: 'create', channelId: d.channel_id, message: d as unknown as GatewayMessageCreateDispatchData } }
        : { ok: true, event: { kind: 'update', channelId: d.channel_id, message: d as unknown as GatewayMessageUpdateDispatchData } };
    }
    case 'MESSAGE_DELETE':
      if (!isSnowflake(d.id)) return bad('d.id');
      if (!isSnowflake(d.channel_id)) return bad('d.channel_id');
      return { ok: true, event: { kind: 'delete', channelId: d.channel_id, ids: [d.id] } };
    case 'MESSAGE_DELETE_BULK':
      if (!Array.isArray(d.ids) || !d.ids.every(isSnowflake)) return bad('d.ids');
      if (!isSnowflake(d.channel_id)) return bad('d.channel_id');
      return { ok: true, event: { kind: 'delete', channelId: d.channel_id, ids: d.ids } };
    case 'CHANNEL_DELETE':
      if (!isSnowflake(d.id)) return bad('d.id');
      return { ok: true, event: { kind: 'channel_delete', channelId: d.id } };
    case 'GUILD_DELETE':
      if (!isSnowflake(d.id)) return bad('d.id');
      // `unavailable: true` is an outage, not the bot leaving: links stay.
      if (d.unavailable === true) return { ok: false, error: 'GUILD_DELETE of an unavailable guild (outage): nothing to do' };
      return { ok: true, event: { kind: 'guild_delete', guildId: d.id } };
    default:
      return { ok: false, error: `event ${String(t)} is not one the mirror handles` };
  }
}
