// Discord gateway protocol facts shared by the sim, the proxy's server side and its upstream.
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';

export { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes };

export interface GatewayFrame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** What a client should do after each close code (discord-api-docs, opcodes-and-status-codes). */
export const CLOSE_CODES: Record<number, { reason: string; reconnect: boolean; resumable: boolean }> = {
  4000: { reason: 'Unknown error.', reconnect: true, resumable: true },
  4001: { reason: 'Unknown opcode.', reconnect: true, resumable: true },
  4002: { reason: 'Decode error.', reconnect: true, resumable: true },
  4003: { reason: 'Not authenticated.', reconnect: true, resumable: false },
  4004: { reason: 'Authentication failed.', reconnect: false, resumable: false },
  4005: { reason: 'Already authenticated.', reconnect: true, resumable: false },
  4007: { reason: 'Invalid seq.', reconnect: true, resumable: false },
  4008: { reason: 'Rate limited.', reconnect: true, resumable: false },
  4009: { reason: 'Session timed out.', reconnect: true, resumable: false },
  4010: { reason: 'Invalid shard.', reconnect: false, resumable: false },
  4011: { reason: 'Sharding required.', reconnect: false, resumable: false },
  4012: { reason: 'Invalid API version.', reconnect: false, resumable: false },
  4013: { reason: 'Invalid intent(s).', reconnect: false, resumable: false },
  4014: { reason: 'Disallowed intent(s).', reconnect: false, resumable: false },
};

/** 1000/1001 end a session; any other close leaves it resumable for a while. */
export const endsSession = (code: number) => code === 1000 || code === 1001;

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

export function shardFor(guildId: string | undefined, shardCount: number): number {
  if (!guildId) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
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
