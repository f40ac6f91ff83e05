// The shapes of what a gateway client may send (discord-api-docs, gateway-events "Send
// Events"), checked once at the edge for the sim and the proxy alike: a payload that does not
// fit is a decode error (4002) and never reaches a session, nor Discord through the proxy.
// Values that fit the shape but are refused by meaning (a bad token 4004, shard 4010, intent
// bits 4013/4014) are the handlers' to judge. Unknown extra fields are ignored, as Discord does.
import { GatewayOpcodes } from './protocol';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
// Libraries send snowflakes as strings (discord.js) or numbers (discord.py); Discord takes both.
const isSnowflake = (v: unknown) => (typeof v === 'string' && /^\d{1,20}$/.test(v)) || isUint(v);
const PRESENCE_STATUSES = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

/** Why `d` is not a valid payload for client opcode `op`, or undefined when it is. */
export function sendProblem(op: number, d: unknown): string | undefined {
  switch (op) {
    case GatewayOpcodes.Heartbeat:
      return d === null || d === undefined || isUint(d) ? undefined : 'Heartbeat d must be the last sequence number or null.';
    case GatewayOpcodes.Identify:
      return identifyProblem(d);
    case GatewayOpcodes.PresenceUpdate:
      return presenceProblem(d);
    case GatewayOpcodes.VoiceStateUpdate:
      if (!isObject(d)) return 'Voice state update needs an object.';
      if (!isSnowflake(d.guild_id)) return 'Voice state update needs a guild_id.';
      if (d.channel_id !== null && !isSnowflake(d.channel_id)) return 'Voice state update channel_id must be a snowflake or null.';
      if (typeof d.self_mute !== 'boolean' || typeof d.self_deaf !== 'boolean') return 'Voice state update needs self_mute and self_deaf booleans.';
      return undefined;
    case GatewayOpcodes.Resume:
      if (!isObject(d) || typeof d.token !== 'string' || typeof d.session_id !== 'string') return 'Resume needs token, session_id and seq.';
      return isUint(d.seq) ? undefined : 'Resume seq must be a non-negative integer.';
    case GatewayOpcodes.RequestGuildMembers:
      return memberRequestProblem(d);
    default:
      return undefined;
  }
}

function identifyProblem(d: unknown): string | undefined {
  if (!isObject(d) || typeof d.token !== 'string') return 'Identify needs a token.';
  if (typeof d.intents !== 'number') return 'Identify needs intents.';
  const p = d.properties;
  if (!isObject(p) || ['os', 'browser', 'device'].some((k) => p[k] !== undefined && typeof p[k] !== 'string')) return 'Identify needs properties {os, browser, device}.';
  if (d.compress !== undefined && typeof d.compress !== 'boolean') return 'Identify compress must be a boolean.';
  const t = d.large_threshold;
  if (t !== undefined && (!Number.isInteger(t) || (t as number) < 50 || (t as number) > 250)) return 'large_threshold must be an integer from 50 to 250.';
  if (d.presence !== undefined) return presenceProblem(d.presence);
  return undefined;
}

function presenceProblem(d: unknown): string | undefined {
  if (!isObject(d)) return 'Presence update needs an object.';
  if (d.since !== null && !isUint(d.since)) return 'Presence since must be a unix time in ms or null.';
  if (!Array.isArray(d.activities) || !d.activities.every((a) => isObject(a) && typeof a.name === 'string' && Number.isInteger(a.type))) {
    return 'Presence activities must be a list of {name, type}.';
  }
  if (typeof d.status !== 'string' || !PRESENCE_STATUSES.has(d.status)) return 'Presence status must be online, dnd, idle, invisible or offline.';
  return typeof d.afk === 'boolean' ? undefined : 'Presence afk must be a boolean.';
}

function memberRequestProblem(d: unknown): string | undefined {
  if (!isObject(d) || !isSnowflake(d.guild_id)) return 'Request guild members needs one guild_id.';
  if (d.query === undefined && d.user_ids === undefined) return 'Request guild members needs query or user_ids.';
  if (d.query !== undefined && typeof d.query !== 'string') return 'Request guild members query must be a string.';
  if (d.query !== undefined && !isUint(d.limit)) return 'Request guild members with a query needs a limit.';
  if (d.limit !== undefined && !isUint(d.limit)) return 'Request guild members limit must be a non-negative integer.';
  const ids = d.user_ids;
  if (ids !== undefined && !isSnowflake(ids) && !(Array.isArray(ids) && ids.length <= 100 && ids.every(isSnowflake))) return 'user_ids must be a snowflake or up to 100 of them.';
  if (d.presences !== undefined && typeof d.presences !== 'boolean') return 'Request guild members presences must be a boolean.';
  if (d.nonce !== undefined && typeof d.nonce !== 'string') return 'Request guild members nonce must be a string.';
  return undefined;
}

/**
 * JSON.parse of a client frame that keeps integers of 17 digits or more (snowflakes sent as
 * numbers, too big for a double) exact, as strings, so the proxy forwards the same ids.
 */
export function parseClientFrame(text: string): unknown {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c >= '0' && c <= '9') {
      let end = i;
      while (end < text.length && text[end]! >= '0' && text[end]! <= '9') end++;
      const next = text[end];
      if (end - i > 16 && next !== '.' && next !== 'e' && next !== 'E' && text[i - 1] !== '-') {
        out += `${text.slice(from, i)}"${text.slice(i, end)}"`;
        from = end;
      }
      i = end - 1;
    }
  }
  return JSON.parse(out + text.slice(from));
}
