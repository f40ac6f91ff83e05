// The seam between the sim's state/REST side (world.ts, rest/) and its gateway side (gateway.ts).
// The world owns every entity and announces each change as a dispatch; the gateway routes
// dispatches to shard sessions. Keep this file small: it is the agreement, not an implementation.
import type { EventEmitter } from 'node:events';
import type {
  APIApplication,
  APIGuildMember,
  APIUser,
  GatewayDispatchEvents,
  GatewayGuildCreateDispatchData,
  GatewayPresenceUpdateData,
  GatewayPresenceUpdateDispatchData,
} from 'discord-api-types/v10';

export interface SimDispatch {
  t: GatewayDispatchEvents | `${GatewayDispatchEvents}`;
  d: unknown;
  /** Routes the event to shard (guild_id >> 22) % num_shards; undefined = shard 0. */
  guildId?: string;
  /** GatewayIntentBits the event needs (any of them); undefined = always sent. */
  intents?: number;
}

export interface SimWorldView extends EventEmitter<{ dispatch: [SimDispatch] }> {
  /** The bot token the sim accepts (without "Bot "). */
  readonly token: string;
  readonly botUser: APIUser;
  readonly application: Pick<APIApplication, 'id' | 'flags'>;
  guildIds(): string[];
  /** The full GUILD_CREATE payload for a guild the bot is in, or undefined. */
  guildCreate(guildId: string): GatewayGuildCreateDispatchData | undefined;
  members(guildId: string): APIGuildMember[];
  presences(guildId: string): GatewayPresenceUpdateDispatchData[];
  /** A client's PRESENCE_UPDATE (op 3) for the bot; the world records it and dispatches it. */
  setBotPresence(presence: GatewayPresenceUpdateData): void;
}

export interface ShardCounters {
  identifies: number;
  resumes: number;
  dispatched: number;
  last_seq: number;
  /** Sessions currently connected and identified on this shard. */
  connected: number;
}
