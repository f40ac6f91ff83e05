// Discord gateway protocol facts shared by the sim, the proxy's server side and its upstream.
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';

export { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes };

export interface GatewayFrame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

export interface ClosePolicy {
  reason: string;
  /** The client may open a new connection. */
  reconnect: boolean;
  /** The session survives: a RESUME on the new connection can work. */
  resumable: boolean;
  /** Retrying cannot help until the configuration (token, shards, intents, version) changes. */
  fatal: boolean;
}

const policy = (reason: string, resumable: boolean, reconnect = true): ClosePolicy => ({ reason, reconnect, resumable, fatal: !reconnect });

/**
 * The one close-code table (discord-api-docs, opcodes-and-status-codes): Discord's
 * "reconnect" column, and whether the session may be resumed. Discord says 4007 and 4009
 * need a new session; for 4003/4005/4008 we follow @discordjs/ws, which re-identifies.
 */
export const CLOSE_CODES: Record<number, ClosePolicy> = {
  4000: policy('Unknown error.', true),
  4001: policy('Unknown opcode.', true),
  4002: policy('Decode error.', true),
  4003: policy('Not authenticated.', false),
  4004: policy('Authentication failed.', false, false),
  4005: policy('Already authenticated.', false),
  4007: policy('Invalid seq.', false),
  4008: policy('Rate limited.', false),
  4009: policy('Session timed out.', false),
  4010: policy('Invalid shard.', false, false),
  4011: policy('Sharding required.', false, false),
  4012: policy('Invalid API version.', false, false),
  4013: policy('Invalid intent(s).', false, false),
  4014: policy('Disallowed intent(s).', false, false),
};

/** 1000/1001 end a session; any other close leaves it resumable for a while. */
export const endsSession = (code: number) => code === 1000 || code === 1001;

/** The policy for any close code: the table, 1000/1001 (session ended), else a resumable drop. */
export function closePolicy(code: number): ClosePolicy {
  return CLOSE_CODES[code] ?? (endsSession(code) ? policy('Session closed.', false) : policy('Connection lost.', true));
}

export const PRIVILEGED_INTENTS =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** Every intent bit Discord defines; other bits close with 4013. */
export const ALL_INTENTS = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((a, b) => a | b, 0);

/** Discord's limit on one client payload. */
export const MAX_CLIENT_PAYLOAD_BYTES = 4096;
/** Client sends allowed per connection per window. */
export const SEND_LIMIT = { count: 120, windowMs: 60_000 };
export const MAX_GUILDS_PER_SHARD = 2500;

/** Discord's routing: `(guild_id >> 22) % num_shards`; events without a guild go to shard 0. */
export function shardFor(guildId: string | undefined, shardCount: number): number {
  if (!guildId || !/^\d{1,20}$/.test(guildId)) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A valid IDENTIFY `shard: [id, count]`, or undefined (close 4010). Absent means [0, 1]. */
export function parseShard(raw: unknown): [number, number] | undefined {
  if (raw === undefined || raw === null) return [0, 1];
  if (!Array.isArray(raw) || raw.length !== 2) return undefined;
  const [id, count] = raw as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return undefined;
  if ((count as number) < 1 || (id as number) < 0 || (id as number) >= (count as number)) return undefined;
  return [id as number, count as number];
}

/** Intents a dispatch needs (any one suffices); undefined = always sent. */
export const EVENT_INTENTS: Record<string, number> = {
  GUILD_CREATE: GatewayIntentBits.Guilds,
  GUILD_UPDATE: GatewayIntentBits.Guilds,
  GUILD_DELETE: GatewayIntentBits.Guilds,
  GUILD_ROLE_CREATE: GatewayIntentBits.Guilds,
  GUILD_ROLE_UPDATE: GatewayIntentBits.Guilds,
  GUILD_ROLE_DELETE: GatewayIntentBits.Guilds,
  CHANNEL_CREATE: GatewayIntentBits.Guilds,
  CHANNEL_UPDATE: GatewayIntentBits.Guilds,
  CHANNEL_DELETE: GatewayIntentBits.Guilds,
  THREAD_CREATE: GatewayIntentBits.Guilds,
  GUILD_MEMBER_ADD: GatewayIntentBits.GuildMembers,
  GUILD_MEMBER_UPDATE: GatewayIntentBits.GuildMembers,
  GUILD_MEMBER_REMOVE: GatewayIntentBits.GuildMembers,
  GUILD_AUDIT_LOG_ENTRY_CREATE: GatewayIntentBits.GuildModeration,
  GUILD_BAN_ADD: GatewayIntentBits.GuildModeration,
  GUILD_BAN_REMOVE: GatewayIntentBits.GuildModeration,
  GUILD_EMOJIS_UPDATE: GatewayIntentBits.GuildExpressions,
  WEBHOOKS_UPDATE: GatewayIntentBits.GuildWebhooks,
  VOICE_STATE_UPDATE: GatewayIntentBits.GuildVoiceStates,
  PRESENCE_UPDATE: GatewayIntentBits.GuildPresences,
  MESSAGE_CREATE: GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages,
  MESSAGE_UPDATE: GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages,
  MESSAGE_DELETE: GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages,
  MESSAGE_DELETE_BULK: GatewayIntentBits.GuildMessages,
  MESSAGE_REACTION_ADD: GatewayIntentBits.GuildMessageReactions,
  TYPING_START: GatewayIntentBits.GuildMessageTyping | GatewayIntentBits.DirectMessageTyping,
};

/** Whether a session with these intents receives dispatch `t` (events not in the table always pass). */
export function intentsAllow(t: string, intents: number): boolean {
  const needed = EVENT_INTENTS[t];
  return needed === undefined || (needed & intents) !== 0;
}

/** IDENTIFY `intents` problems: 4013 for unknown bits, 4014 for privileged bits not enabled. */
export function checkIntents(intents: number, enabledPrivileged: number): 4013 | 4014 | undefined {
  if (!Number.isInteger(intents) || intents < 0 || (intents & ~ALL_INTENTS) !== 0 || intents > ALL_INTENTS) return 4013;
  if ((intents & PRIVILEGED_INTENTS & ~enabledPrivileged) !== 0) return 4014;
  return undefined;
}
