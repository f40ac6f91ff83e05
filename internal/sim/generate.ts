// A deterministic world from (seed, guild count): guilds with every common channel type,
// roles (an Administrator role, the bot's managed role), members, and message history.
import { type APIOverwrite, type APIUser, ChannelType, GuildDefaultMessageNotifications, GuildExplicitContentFilter, GuildMFALevel, GuildNSFWLevel, GuildPremiumTier, GuildVerificationLevel, Locale, type PresenceUpdateReceiveStatus, PresenceUpdateStatus } from 'discord-api-types/v10';
import { type ChannelSpec, guildChannel, newMember, newRole, NO_FLAGS, type RoleSpec } from './payloads';
import { P } from './permissions';
import { prng, Snowflakes } from './snowflake';
import { type SimGuild, SimWorld } from './world';

const WORDS = ['raid', 'backup', 'hello', 'shard', 'gateway', 'ping', 'proxy', 'cluster', 'event', 'limit', 'role', 'channel', 'server', 'moderation', 'welcome'];
const NAMES = ['ada', 'bob', 'cyd', 'dee', 'eli', 'fay', 'gus', 'hal', 'ivy', 'jo', 'kai', 'lou', 'max', 'ned', 'oz', 'pam'];
/** All generated history predates this instant, so new ids always sort after it. */
const WORLD_TIME = Date.UTC(2026, 0, 1);

const BOT_PERMISSIONS =
  P.ViewChannel | P.SendMessages | P.ReadMessageHistory | P.EmbedLinks | P.AttachFiles | P.ManageChannels | P.ManageRoles |
  P.ManageMessages | P.KickMembers | P.BanMembers | P.ModerateMembers | P.ManageWebhooks | P.ManageGuild | P.ViewAuditLog;
const EVERYONE_PERMISSIONS = P.ViewChannel | P.SendMessages | P.ReadMessageHistory | P.AddReactions | P.Connect | P.Speak | P.UseApplicationCommands;

export interface GenerateOptions {
  seed: number;
  guilds: number;
  membersPerGuild?: number;
  messagesPerChannel?: number;
  token?: string;
}

export function generateWorld({ seed, guilds, membersPerGuild = 12, messagesPerChannel = 15, token }: GenerateOptions): SimWorld {
  const world = new SimWorld(token);
  const rand = prng(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  // Ids from a separate clock so the same seed always yields the same ids.
  const ids = new Snowflakes();
  let clock = WORLD_TIME - 86_400_000 * 30 - seed * 1000;
  const id = () => ids.next((clock += 1 + Math.floor(rand() * 5)));

  const users: APIUser[] = [];
  for (let i = 0; i < Math.max(membersPerGuild * 2, 20); i++) {
    const user: APIUser = { id: id(), username: `${pick(NAMES)}${i}`, discriminator: '0', global_name: null, avatar: null };
    users.push(user);
    world.users.set(user.id, user);
  }

  for (let i = 0; i < guilds; i++) {
    const owner = users[i % users.length]!;
    const g = createGuild(world, { id: id(), name: `Sim Guild ${i + 1}`, ownerId: owner.id, idGen: id });
    const humans = new Set<APIUser>([owner]);
    while (humans.size < Math.min(membersPerGuild, users.length)) humans.add(pick(users));
    const roles = [...g.roles.values()].filter((r) => !r.managed && r.id !== g.guild.id);
    for (const user of humans) {
      const memberRoles = user === owner ? [] : rand() < 0.3 ? [pick(roles).id] : [];
      addMember(g, user, memberRoles);
      if (rand() < 0.5) {
        const status = pick<PresenceUpdateReceiveStatus>([PresenceUpdateStatus.Online, PresenceUpdateStatus.Idle, PresenceUpdateStatus.DoNotDisturb]);
        g.presences.set(user.id, { user: { id: user.id }, guild_id: g.guild.id, status, activities: [], client_status: { desktop: status } });
      }
    }
    for (const channel of g.channels.values()) {
      if (channel.type !== 0 && channel.type !== 5) continue;
      const list = [];
      for (let m = 0; m < messagesPerChannel; m++) {
        const author = pick([...humans]);
        list.push(world.newMessage(channel.id, author, `${pick(WORDS)} ${pick(WORDS)} ${m}`, { id: id(), timestamp: new Date(clock).toISOString() }));
      }
      g.messages.set(channel.id, list);
      if ('last_message_id' in channel) channel.last_message_id = list.at(-1)?.id ?? null;
    }
  }
  return world;
}

export interface CreateGuildOptions {
  id: string;
  name: string;
  ownerId: string;
  idGen: () => string;
  /** false: only @everyone, the bot's role and no channels (a restore target). */
  populated?: boolean;
}

export function createGuild(world: SimWorld, { id, name, ownerId, idGen, populated = true }: CreateGuildOptions): SimGuild {
  const role = (r: Omit<RoleSpec, 'id' | 'permissions'> & { id?: string; permissions: bigint }) => newRole({ id: idGen(), ...r, permissions: r.permissions.toString() });
  const everyone = role({ id, name: '@everyone', position: 0, permissions: EVERYONE_PERMISSIONS });
  const botRole = role({ name: 'splashtail', position: populated ? 4 : 1, permissions: BOT_PERMISSIONS, managed: true, tags: { bot_id: world.botUser.id } });
  const roles = [everyone, botRole];
  if (populated) {
    roles.push(
      role({ name: 'Member', position: 1, permissions: 0n, color: 0x3498db }),
      role({ name: 'Moderator', position: 2, permissions: P.KickMembers | P.ManageMessages | P.ModerateMembers, hoist: true, color: 0x2ecc71 }),
      role({ name: 'Admin', position: 3, permissions: P.Administrator, hoist: true, color: 0xe74c3c }),
    );
  }
  const g: SimGuild = {
    guild: {
      id, name, icon: null, splash: null, discovery_splash: null, owner_id: ownerId, afk_channel_id: null, afk_timeout: 300,
      verification_level: GuildVerificationLevel.Low, default_message_notifications: GuildDefaultMessageNotifications.AllMessages,
      explicit_content_filter: GuildExplicitContentFilter.Disabled, roles: [], emojis: [], features: [], mfa_level: GuildMFALevel.None,
      application_id: null, system_channel_id: null, system_channel_flags: NO_FLAGS, rules_channel_id: null, vanity_url_code: null,
      description: null, banner: null, premium_tier: GuildPremiumTier.None, premium_subscription_count: 0, preferred_locale: Locale.EnglishUS,
      public_updates_channel_id: null, nsfw_level: GuildNSFWLevel.Default, premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null, stickers: [], region: 'us', hub_type: null, incidents_data: null, max_video_channel_users: 25,
      max_stage_video_channel_users: 50, joined_at: new Date(WORLD_TIME).toISOString(),
    },
    channels: new Map(), roles: new Map(roles.map((r) => [r.id, r])), members: new Map(), messages: new Map(),
    bans: new Map(), audit: [], presences: new Map(), voiceStates: new Map(), stageInstances: new Map(),
    scheduledEvents: new Map(), scheduledEventUsers: new Map(), threadMembers: new Map(),
  };
  world.guilds.set(id, g);
  const owner = world.users.get(ownerId);
  if (owner) addMember(g, owner, []);
  addMember(g, world.botUser, [botRole.id]);
  if (!populated) return g;

  const moderator = roles.find((r) => r.name === 'Moderator')!;
  const channel = (c: Omit<ChannelSpec, 'id' | 'guild_id'>) => {
    const full = guildChannel({ id: idGen(), guild_id: id, ...c });
    g.channels.set(full.id, full);
    return full;
  };
  const text = channel({ name: 'Text Channels', type: ChannelType.GuildCategory, position: 0 });
  const voice = channel({ name: 'Voice Channels', type: ChannelType.GuildCategory, position: 1 });
  const general = channel({ name: 'general', type: ChannelType.GuildText, position: 0, parent_id: text.id, topic: 'General chat' });
  const rules = channel({ name: 'rules', type: ChannelType.GuildText, position: 1, parent_id: text.id });
  channel({ name: 'announcements', type: ChannelType.GuildAnnouncement, position: 2, parent_id: text.id });
  channel({ name: 'off-topic', type: ChannelType.GuildText, position: 3, parent_id: text.id });
  const modOnly: APIOverwrite[] = [
    { id, type: 0, allow: '0', deny: P.ViewChannel.toString() },
    { id: moderator.id, type: 0, allow: P.ViewChannel.toString(), deny: '0' },
  ];
  channel({ name: 'mod-only', type: ChannelType.GuildText, position: 4, parent_id: text.id, permission_overwrites: modOnly });
  channel({ name: 'General', type: ChannelType.GuildVoice, position: 0, parent_id: voice.id });
  channel({ name: 'Stage', type: ChannelType.GuildStageVoice, position: 1, parent_id: voice.id });
  channel({ name: 'help-forum', type: ChannelType.GuildForum, position: 5, parent_id: text.id });
  g.guild.system_channel_id = general.id;
  g.guild.rules_channel_id = rules.id;
  return g;
}

export function addMember(g: SimGuild, user: APIUser, roles: string[]): void {
  g.members.set(user.id, newMember(user, roles, new Date(WORLD_TIME).toISOString()));
  // A member who left (kicked over REST, say) comes back offline and out of voice.
  g.presences.delete(user.id);
  g.voiceStates.delete(user.id);
}
