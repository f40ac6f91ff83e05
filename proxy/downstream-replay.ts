// A downstream RESUME served from the shard log: the session's last anchor at or below the
// bot's seq is found in the store, the log is read from there, entries the session's intents
// let through are numbered on, those up to the bot's seq are skipped (it has them) and the rest
// are what it missed. A hole in the log (`continues`), a new upstream session (READY) or an
// anchor the log no longer holds means the session cannot be resumed exactly: op 9.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { intentsAllow } from '../internal/gateway/protocol';
import type { DownstreamStore, StoredSession } from './downstream-store';
import { continues, type LogEntry, type LogPosition, type ShardLog } from './shard-log';

/**
 * An event as a session gets it. A GUILD_CREATE carries no JSON: it is rendered from the guild
 * state for each session when sent (its intents and large_threshold), so neither the buffers
 * nor the histories hold whole guilds.
 */
export interface Entry {
  t: string;
  json?: string;
  at: number;
  /** GUILD_CREATE (joined) or GUILD_DELETE without `unavailable` (left): what a session was told it holds. */
  guild?: { id: string; left: boolean };
  /** Its entry in the shard log; events without one (READY, RESUMED, member answers) re-anchor the session. */
  log?: LogPosition;
}

/** The nonces proxies put on the member requests they forward (`<8 hex>.<counter>`). */
const PROXY_NONCE = /^[0-9a-f]{8}\.[0-9a-z]+$/;
/** Log entries read per round trip. */
const READ_BATCH = 1_000;

/**
 * Whether a dispatch goes to every session of its shard. The session confirmations are ours,
 * and member chunks or RATE_LIMITED answer a request a proxy forwarded for one session.
 */
export function broadcasts(t: string, nonce: string | undefined): boolean {
  if (t === 'READY' || t === 'RESUMED' || t === 'RATE_LIMITED') return false;
  return !(t === 'GUILD_MEMBERS_CHUNK' && nonce !== undefined && PROXY_NONCE.test(nonce));
}

/** The guild a dispatch adds to or removes from its shard, as a bot sees it. */
export function guildChange(payload: GatewayDispatchPayload): Entry['guild'] {
  if (payload.t === 'GUILD_CREATE') return { id: payload.d.id, left: false };
  if (payload.t === 'GUILD_DELETE' && !payload.d.unavailable) return { id: payload.d.id, left: true };
  return undefined;
}

/** A log entry as a session with these intents gets it, or undefined when it gets none. */
function entryFor(e: LogEntry, intents: number): Entry | undefined {
  if (!intentsAllow(e.t, intents)) return undefined;
  const parsed = e.t === 'GUILD_MEMBERS_CHUNK' || e.t === 'GUILD_CREATE' || e.t === 'GUILD_DELETE' ? (JSON.parse(e.d) as { id?: string; nonce?: string; unavailable?: boolean }) : undefined;
  if (!broadcasts(e.t, parsed?.nonce)) return undefined;
  const guild = parsed && guildChange({ t: e.t, d: parsed } as GatewayDispatchPayload);
  return { t: e.t, ...(e.t === 'GUILD_CREATE' ? {} : { json: e.d }), at: Date.now(), log: { id: e.id, sid: e.sid, s: e.s }, ...(guild ? { guild } : {}) };
}

export type Restored =
  | { kind: 'ok'; shard: number; intents: number; largeThreshold: number; guilds: Set<string>; cursor: LogPosition; missed: Entry[] }
  | { kind: 'invalid' }
  | { kind: 'seq-ahead' };

/**
 * Rebuilds session `id` for a RESUME at `botSeq`. Reads until `caughtUp(cursor)` says the live
 * path takes over from there; the caller joins it without awaiting anything in between. A bot
 * may have got events its node never wrote to the log (it was killed): they come back when the
 * shard's next owner RESUMEs upstream, so the log is awaited until `aheadWaitMs` has passed.
 */
export async function restore(
  opts: { log: ShardLog; store: DownstreamStore; maxMissed: number; aheadWaitMs: number },
  id: string,
  botSeq: number,
  caughtUp: (shard: number, cursor: LogPosition) => boolean,
): Promise<Restored> {
  const stored = await opts.store.load(id);
  if (!stored) return { kind: 'invalid' };
  const { shard, intents, largeThreshold } = stored;
  // The newest anchor at or below the bot's seq whose entry the log holds (a killed node's last
  // entries may never have been written; they come back later, under new ids).
  let anchor: StoredSession['anchors'][number] | undefined;
  let cursor: LogPosition | undefined;
  for (const a of [...stored.anchors].reverse()) {
    if (a.seq > botSeq) continue;
    cursor = await opts.log.at(shard, a.id);
    anchor = a;
    if (cursor) break;
  }
  if (!anchor || !cursor) return { kind: 'invalid' };
  const guilds = new Set(stored.guilds);
  const missed: Entry[] = [];
  let seq = anchor.seq;
  const aheadUntil = Date.now() + opts.aheadWaitMs;
  for (;;) {
    const batch = await opts.log.read(shard, cursor.id, READ_BATCH);
    for (const e of batch) {
      if (!continues(cursor, e) || e.t === 'READY') return { kind: 'invalid' };
      cursor = e;
      const entry = entryFor(e, intents);
      if (!entry) continue;
      if (++seq > botSeq) missed.push(entry);
      else if (entry.guild?.left) guilds.delete(entry.guild.id);
      else if (entry.guild) guilds.add(entry.guild.id);
      if (missed.length > opts.maxMissed) return { kind: 'invalid' };
    }
    if (batch.length === 0) {
      if (caughtUp(shard, cursor) && (seq >= botSeq || Date.now() > aheadUntil)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  if (seq < botSeq) return { kind: 'seq-ahead' };
  return { kind: 'ok', shard, intents, largeThreshold, guilds, cursor: { id: cursor.id, sid: cursor.sid, s: cursor.s }, missed };
}
