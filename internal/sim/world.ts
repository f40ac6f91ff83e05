// The sim's state: users, guilds (channels, roles, members, messages, bans, audit log),
// application commands and interactions. Every change goes through `emitDispatch`, the one
// place the gateway learns about it.
import { EventEmitter } from 'node:events';
import {
  type APIApplicationCommand,
  type APIAuditLogEntry,
  type APIBaseVoiceState,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIGuildScheduledEvent,
  type APIMessage,
  type APIRole,
  type APIStageInstance,
  type APIThreadChannel,
  type APIUser,
  type GatewayGuildCreateDispatchData,
  type GatewayPresenceUpdateData,
  type GatewayPresenceUpdateDispatchData,
  MessageType,
  type ThreadChannelType,
} from 'discord-api-types/v10';
import { EVENT_INTENTS } from '../gateway/protocol';
import type { SimDispatch, SimWorldView } from './contract';
import { SimCdn } from './cdn';
import { Snowflakes } from './snowflake';

export const DEFAULT_TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAwMQ.c2lt.c3BsYXNodGFpbC1zaW0tdG9rZW4tZm9yLWRldmVsb3BtZW50';
export const DEFAULT_APP_ID = '1000000000000000001';
export const DEFAULT_CLIENT_SECRET = 'splashtail-sim-client-secret-0123456789';

export interface SimGuild {
  guild: APIGuild & { joined_at: string };
  channels: Map<string, APIChannel>;
  roles: Map<string, APIRole>;
  members: Map<string, APIGuildMember & { user: APIUser }>;
  messages: Map<string, APIMessage[]>;
  bans: Map<string, { user: APIUser; reason: string | null }>;
  audit: SimAuditEntry[];
  /** Online members' presences, as GUILD_CREATE lists them. */
  presences: Map<string, GatewayPresenceUpdateDispatchData>;
  /** By user id: who is in which voice channel. */
  voiceStates: Map<string, APIBaseVoiceState>;
  /** By stage channel id. */
  stageInstances: Map<string, APIStageInstance>;
  scheduledEvents: Map<string, APIGuildScheduledEvent>;
  /** Users interested in each scheduled event. */
  scheduledEventUsers: Map<string, Set<string>>;
  /** User ids in each thread (threads themselves are among `channels`). */
  threadMembers: Map<string, Set<string>>;
}

/**
 * An audit-log entry. Discord sends every change as {key, old_value?, new_value?}; the types list
 * one shape per known key, which a generic edit (PATCH of any field) cannot name statically.
 */
export type SimAuditEntry = Omit<APIAuditLogEntry, 'changes'> & { changes?: { key: string; old_value?: unknown; new_value?: unknown }[] };

type GuildCreateChannel = GatewayGuildCreateDispatchData['channels'][number];
type GuildCreateThread = APIThreadChannel & { type: ThreadChannelType };
const THREAD_TYPES: number[] = [10, 11, 12];
const isThreadChannel = (c: APIChannel): c is GuildCreateThread => THREAD_TYPES.includes(c.type);
const isGuildChannel = (c: APIChannel): c is GuildCreateChannel => 'guild_id' in c && !THREAD_TYPES.includes(c.type);

export interface SimInteraction {
  id: string;
  token: string;
  guild_id: string;
  channel_id: string;
  user_id: string;
  command_name: string;
  /** When INTERACTION_CREATE was sent (ms): the response and token deadlines count from it. */
  created_at: number;
  callback?: { type: number; data?: unknown };
  original?: APIMessage;
  followups: APIMessage[];
}

export class SimWorld extends EventEmitter<{ dispatch: [SimDispatch] }> implements SimWorldView {
  readonly ids = new Snowflakes();
  readonly users = new Map<string, APIUser>();
  readonly guilds = new Map<string, SimGuild>();
  readonly globalCommands: APIApplicationCommand[] = [];
  readonly guildCommands = new Map<string, APIApplicationCommand[]>();
  readonly interactions = new Map<string, SimInteraction>();
  readonly cdn = new SimCdn();
  readonly botUser: APIUser;
  readonly application: { id: string; flags: number };
  botPresence: GatewayPresenceUpdateData | undefined;

  constructor(
    readonly token: string = DEFAULT_TOKEN,
    readonly clientSecret: string = DEFAULT_CLIENT_SECRET,
    appId: string = DEFAULT_APP_ID,
  ) {
    super();
    this.setMaxListeners(0);
    this.botUser = { id: appId, username: 'splashtail', discriminator: '0000', global_name: null, avatar: null, bot: true };
    this.users.set(appId, this.botUser);
    this.application = { id: appId, flags: 0 };
  }

  emitDispatch(t: string, d: unknown, guildId?: string): void {
    this.emit('dispatch', { t: t as SimDispatch['t'], d, guildId, intents: EVENT_INTENTS[t] });
  }

  guildIds(): string[] {
    return [...this.guilds.keys()];
  }

  guild(guildId: string): SimGuild | undefined {
    return this.guilds.get(guildId);
  }

  guildCreate(guildId: string): GatewayGuildCreateDispatchData | undefined {
    const g = this.guilds.get(guildId);
    if (!g) return undefined;
    const channels = [...g.channels.values()];
    // Whatever path changed the guild, what it carries is consistent as on Discord: members hold
    // only existing roles; presences and voice states are members'; threads have their parent.
    const members = [...g.members.values()].map((m) => (m.roles.every((r) => g.roles.has(r)) ? m : { ...m, roles: m.roles.filter((r) => g.roles.has(r)) }));
    return {
      ...g.guild,
      roles: [...g.roles.values()],
      large: g.members.size > 250,
      unavailable: false,
      member_count: g.members.size,
      members,
      channels: channels.filter(isGuildChannel),
      // Active threads only: archived ones are fetched over REST.
      threads: channels.filter(isThreadChannel).filter((t) => !t.thread_metadata?.archived && g.channels.has(t.parent_id ?? '')),
      presences: [...g.presences.values()].filter((p) => g.members.has(p.user.id)),
      voice_states: [...g.voiceStates.values()].filter((v) => g.members.has(v.user_id)),
      stage_instances: [...g.stageInstances.values()],
      guild_scheduled_events: [...g.scheduledEvents.values()],
      // The sim has no soundboard.
      soundboard_sounds: [],
    };
  }

  members(guildId: string): APIGuildMember[] {
    return [...(this.guilds.get(guildId)?.members.values() ?? [])];
  }

  presences(guildId: string): GatewayPresenceUpdateDispatchData[] {
    return [...(this.guilds.get(guildId)?.presences.values() ?? [])];
  }

  setBotPresence(presence: GatewayPresenceUpdateData): void {
    this.botPresence = presence;
    for (const g of this.guilds.values()) {
      const d = { user: { id: this.botUser.id }, guild_id: g.guild.id, status: presence.status, activities: presence.activities ?? [], client_status: { web: presence.status } };
      this.emitDispatch('PRESENCE_UPDATE', d, g.guild.id);
    }
  }

  channelGuild(channelId: string): SimGuild | undefined {
    for (const g of this.guilds.values()) if (g.channels.has(channelId)) return g;
    return undefined;
  }

  addAudit(g: SimGuild, entry: Omit<SimAuditEntry, 'id'>): void {
    const full: SimAuditEntry = { ...entry, id: this.ids.next() };
    g.audit.unshift(full);
    if (g.audit.length > 500) g.audit.pop();
    this.emitDispatch('GUILD_AUDIT_LOG_ENTRY_CREATE', { ...full, guild_id: g.guild.id }, g.guild.id);
  }

  /** Appends a message to its channel and dispatches MESSAGE_CREATE. */
  postMessage(g: SimGuild, message: APIMessage): APIMessage {
    const list = g.messages.get(message.channel_id) ?? [];
    list.push(message);
    g.messages.set(message.channel_id, list);
    const channel = g.channels.get(message.channel_id);
    if (channel && 'last_message_id' in channel) channel.last_message_id = message.id;
    else if (channel) Object.assign(channel, { last_message_id: message.id });
    if (channel && isThreadChannel(channel)) {
      channel.message_count = (channel.message_count ?? 0) + 1;
      channel.total_message_sent = (channel.total_message_sent ?? 0) + 1;
    }
    const member = g.members.get(message.author.id);
    this.emitDispatch('MESSAGE_CREATE', { ...message, guild_id: g.guild.id, ...(member && !message.webhook_id ? { member: { ...member, user: undefined } } : {}) }, g.guild.id);
    return message;
  }

  newMessage(channelId: string, author: APIUser, content: string, extra: Partial<APIMessage> = {}): APIMessage {
    const id = this.ids.next();
    return {
      id,
      channel_id: channelId,
      author,
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: MessageType.Default,
      ...extra,
    };
  }
}
