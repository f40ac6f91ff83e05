// REQUEST_GUILD_MEMBERS (op 8) -> GUILD_MEMBERS_CHUNK dispatches, with Discord's rules:
// one guild per request, query prefix or up to 100 user_ids, all-member requests need the
// GUILD_MEMBERS intent and are limited to one per guild per 30 s.
import { GatewayIntentBits, shardFor } from '../gateway/protocol';
import type { SimWorldView } from './contract';

const CHUNK_SIZE = 1000;
const ALL_MEMBERS_INTERVAL_MS = 30_000;

/** "All members" requests per guild, one per 30 s (per gateway, not per process). */
export class MemberRequestLimiter {
  private readonly last = new Map<string, number>();

  /** Seconds to wait before the guild may be asked again, or 0 after recording this request. */
  take(guildId: string, now = Date.now()): number {
    const last = this.last.get(guildId);
    if (last !== undefined && now - last < ALL_MEMBERS_INTERVAL_MS) return (ALL_MEMBERS_INTERVAL_MS - (now - last)) / 1000;
    this.last.set(guildId, now);
    return 0;
  }
}

interface RequestingSession {
  shardId: number;
  shardCount: number;
  intents: number;
}

export function memberChunks(
  world: SimWorldView,
  session: RequestingSession,
  raw: unknown,
  limiter: MemberRequestLimiter,
): { dispatches: [string, unknown][] } | { close: string } {
  const d = raw as { guild_id?: unknown; query?: unknown; limit?: unknown; presences?: unknown; user_ids?: unknown; nonce?: unknown };
  if (typeof d !== 'object' || d === null || typeof d.guild_id !== 'string') return { close: 'Request guild members needs a guild_id.' };
  if (d.query === undefined && d.user_ids === undefined) return { close: 'Request guild members needs query or user_ids.' };
  const guildId = d.guild_id;
  if (shardFor(guildId, session.shardCount) !== session.shardId || !world.guildCreate(guildId)) return { dispatches: [] };
  // A nonce over 32 bytes is ignored: the chunks then carry none.
  const nonce = typeof d.nonce === 'string' && Buffer.byteLength(d.nonce) <= 32 ? d.nonce : undefined;
  const wantsAll = d.user_ids === undefined && d.query === '' && (d.limit === 0 || d.limit === undefined);
  const hasMembersIntent = (session.intents & GatewayIntentBits.GuildMembers) !== 0;
  // The whole list (query "" with any limit) needs the intent; 30 s pacing is for limit 0.
  if (d.user_ids === undefined && d.query === '' && !hasMembersIntent) return { close: 'Requesting all members needs the GUILD_MEMBERS intent.' };
  if (wantsAll) {
    const retry = limiter.take(guildId);
    if (retry > 0) return { dispatches: [['RATE_LIMITED', { opcode: 8, retry_after: retry, meta: { guild_id: guildId, ...(nonce !== undefined ? { nonce } : {}) } }]] };
  }

  let members = world.members(guildId);
  const notFound: string[] = [];
  if (Array.isArray(d.user_ids) || typeof d.user_ids === 'string') {
    const ids = (Array.isArray(d.user_ids) ? d.user_ids : [d.user_ids]).map(String).slice(0, 100);
    members = members.filter((m) => ids.includes(m.user!.id));
    notFound.push(...ids.filter((id) => !members.some((m) => m.user!.id === id)));
  } else if (typeof d.query === 'string' && d.query !== '') {
    const q = d.query.toLowerCase();
    members = members.filter((m) => m.user!.username.toLowerCase().startsWith(q) || m.nick?.toLowerCase().startsWith(q));
    const limit = typeof d.limit === 'number' && d.limit > 0 ? Math.min(d.limit, 100) : 100;
    members = members.slice(0, limit);
  } else if (typeof d.limit === 'number' && d.limit > 0) {
    members = members.slice(0, d.limit);
  }
  const presences = d.presences === true && session.intents & GatewayIntentBits.GuildPresences ? world.presences(guildId) : undefined;
  const count = Math.max(1, Math.ceil(members.length / CHUNK_SIZE));
  const dispatches: [string, unknown][] = [];
  for (let i = 0; i < count; i++) {
    const part = members.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    const ids = new Set(part.map((m) => m.user!.id));
    dispatches.push(['GUILD_MEMBERS_CHUNK', {
      guild_id: guildId,
      members: part,
      chunk_index: i,
      chunk_count: count,
      ...(i === 0 && notFound.length ? { not_found: notFound } : {}),
      ...(presences ? { presences: presences.filter((p) => ids.has(p.user.id)) } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
    }]);
  }
  return { dispatches };
}
