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

const I = GatewayIntentBits;
const each = (names: string[], intents: number) => Object.fromEntries(names.map((n) => [n, intents]));

/**
 * Intents a dispatch needs (any one suffices), from the gateway intents list; events not
 * listed are "passthrough" and always sent (READY, INTERACTION_CREATE, USER_UPDATE, ...).
 * Caveat left to the sender: GUILD_MEMBER_UPDATE for the bot itself needs no intent.
 */
export const EVENT_INTENTS: Record<string, number> = {
  ...each(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE'], I.Guilds),
  ...each(['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE'], I.Guilds),
  ...each(['THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE', 'THREAD_LIST_SYNC', 'THREAD_MEMBER_UPDATE'], I.Guilds),
  ...each(['STAGE_INSTANCE_CREATE', 'STAGE_INSTANCE_UPDATE', 'STAGE_INSTANCE_DELETE'], I.Guilds),
  THREAD_MEMBERS_UPDATE: I.Guilds | I.GuildMembers,
  CHANNEL_PINS_UPDATE: I.Guilds | I.DirectMessages,
  ...each(['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE'], I.GuildMembers),
  ...each(['GUILD_AUDIT_LOG_ENTRY_CREATE', 'GUILD_BAN_ADD', 'GUILD_BAN_REMOVE'], I.GuildModeration),
  ...each(['GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'GUILD_SOUNDBOARD_SOUND_CREATE', 'GUILD_SOUNDBOARD_SOUND_UPDATE', 'GUILD_SOUNDBOARD_SOUND_DELETE', 'GUILD_SOUNDBOARD_SOUNDS_UPDATE'], I.GuildExpressions),
  ...each(['GUILD_INTEGRATIONS_UPDATE', 'INTEGRATION_CREATE', 'INTEGRATION_UPDATE', 'INTEGRATION_DELETE'], I.GuildIntegrations),
  WEBHOOKS_UPDATE: I.GuildWebhooks,
  ...each(['INVITE_CREATE', 'INVITE_DELETE'], I.GuildInvites),
  ...each(['VOICE_STATE_UPDATE', 'VOICE_CHANNEL_EFFECT_SEND'], I.GuildVoiceStates),
  PRESENCE_UPDATE: I.GuildPresences,
  ...each(['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE'], I.GuildMessages | I.DirectMessages),
  MESSAGE_DELETE_BULK: I.GuildMessages,
  ...each(['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE', 'MESSAGE_REACTION_REMOVE_ALL', 'MESSAGE_REACTION_REMOVE_EMOJI'], I.GuildMessageReactions | I.DirectMessageReactions),
  TYPING_START: I.GuildMessageTyping | I.DirectMessageTyping,
  ...each(['GUILD_SCHEDULED_EVENT_CREATE', 'GUILD_SCHEDULED_EVENT_UPDATE', 'GUILD_SCHEDULED_EVENT_DELETE', 'GUILD_SCHEDULED_EVENT_USER_ADD', 'GUILD_SCHEDULED_EVENT_USER_REMOVE'], I.GuildScheduledEvents),
  ...each(['AUTO_MODERATION_RULE_CREATE', 'AUTO_MODERATION_RULE_UPDATE', 'AUTO_MODERATION_RULE_DELETE'], I.AutoModerationConfiguration),
  AUTO_MODERATION_ACTION_EXECUTION: I.AutoModerationExecution,
  ...each(['MESSAGE_POLL_VOTE_ADD', 'MESSAGE_POLL_VOTE_REMOVE'], I.GuildMessagePolls | I.DirectMessagePolls),
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
