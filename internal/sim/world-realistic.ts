// A world shaped like what a large bot sees (`sim --profile realistic`): guild sizes follow a
// bounded Pareto law (Zipf's rank-size law in its continuous form), so most guilds are small
// and a few hold 100,000+ members, with channels, threads, roles, expressions, presences and
// voice states in proportions that grow with the guild. The parameters are fixed here (and in
// the README's "Proxy memory" section): benchmarks and tests compare runs on the same world.
import {
  ActivityType,
  type APIBaseVoiceState,
  type APIEmoji,
  type APISticker,
  type APIThreadChannel,
  type APIUser,
  ChannelType,
  type GatewayActivity,
  type GatewayPresenceUpdateDispatchData,
  type PresenceUpdateReceiveStatus,
  PresenceUpdateStatus,
  StickerFormatType,
  StickerType,
  ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';
import { createGuild } from './generate';
import { guildChannel, newMember, newRole, type SimGuildChannel } from './payloads';
import { prng, Snowflakes } from './snowflake';
import { type SimGuild, SimWorld } from './world';

/** The fixed parameters of the realistic profile (documented in the README). */
export const REALISTIC = {
  /** Member counts: P(size >= x) = (min / x)^alpha, cut at max (Discord's default member cap). */
  members: { min: 5, alpha: 1, max: 250_000 },
  /** Share of members online: 45% in a small guild, down 7 points per decade, at least 8%. */
  online: { small: 0.45, perDecade: 0.07, floor: 0.08 },
  /** Share of online members in a voice channel. */
  inVoice: 0.03,
  /** Share of presences with an activity (a game, music...). */
  withActivity: 0.35,
  /** Share of users with an avatar hash, and of bot accounts. */
  avatars: 0.7,
  bots: 0.02,
} as const;

const WORLD_TIME = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const GAMES = ['Minecraft', 'Fortnite', 'Valorant', 'League of Legends', 'Spotify', 'Visual Studio Code', 'Roblox', 'Genshin Impact'];
const WORDS = ['general', 'chat', 'memes', 'media', 'music', 'gaming', 'help', 'dev', 'art', 'events', 'news', 'lounge', 'bots', 'clips', 'quotes'];
const STATUSES: PresenceUpdateReceiveStatus[] = [PresenceUpdateStatus.Online, PresenceUpdateStatus.Online, PresenceUpdateStatus.Idle, PresenceUpdateStatus.DoNotDisturb];

export interface RealisticOptions {
  seed: number;
  guilds: number;
  token?: string;
}

/**
 * Member count of each of `guilds` guilds, in generation order. Each guild takes the middle
 * quantile of its own slice of [0, 1), so every world of N guilds has the same heavy tail (the
 * k-th largest is min·(N/(k-½))^(1/alpha): 100,000 members for the largest of 10,000 guilds)
 * rather than one that depends on the luck of the draw; the seed decides their order.
 */
export function realisticSizes(seed: number, guilds: number): number[] {
  const rand = prng(seed ^ 0x5eed);
  const { min, alpha, max } = REALISTIC.members;
  const slices = Array.from({ length: guilds }, (_, i) => i);
  for (let i = slices.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [slices[i], slices[j]] = [slices[j]!, slices[i]!];
  }
  return slices.map((slice) => {
    const u = (slice + 0.5) / guilds;
    return Math.min(max, Math.floor(min / Math.pow(1 - u, 1 / alpha)));
  });
}

export function generateRealisticWorld({ seed, guilds, token }: RealisticOptions): SimWorld {
  const world = new SimWorld(token);
  const rand = prng(seed);
  const chance = (p: number) => rand() < p;
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  const ids = new Snowflakes();
  let clock = WORLD_TIME - DAY * 365 - seed * 1000;
  const id = () => ids.next((clock += 1 + Math.floor(rand() * 5)));
  const hex = () => Array.from({ length: 4 }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')).join('');

  const sizes = realisticSizes(seed, guilds);
  // Users are shared across guilds, as on Discord: the pool is as large as the largest guild.
  const users: APIUser[] = [];
  for (let i = 0; i < Math.max(1_000, ...sizes); i++) {
    const user: APIUser = {
      id: id(), username: `user${i}`, discriminator: '0', global_name: chance(0.6) ? `User ${i}` : null,
      avatar: chance(REALISTIC.avatars) ? hex() : null, ...(chance(REALISTIC.bots) ? { bot: true } : {}),
    };
    users.push(user);
    world.users.set(user.id, user);
  }
  // Join dates: a few distinct strings, shared (the sim's memory is not what is measured).
  const joinedAt = Array.from({ length: 64 }, (_, i) => new Date(WORLD_TIME - DAY * (i * 11 + 1)).toISOString());

  sizes.forEach((size, i) => {
    const offset = Math.floor(rand() * users.length);
    const members = Array.from({ length: Math.min(size, users.length) }, (_, k) => users[(offset + k) % users.length]!);
    const g = createGuild(world, { id: id(), name: `Guild ${i + 1}`, ownerId: members[0]!.id, idGen: id, populated: false });
    populate(world, g, members, { rand, chance, pick, id, hex, joinedAt });
  });
  return world;
}

interface Draw {
  rand: () => number;
  chance: (p: number) => boolean;
  pick: <T>(list: readonly T[]) => T;
  id: () => string;
  hex: () => string;
  joinedAt: string[];
}

function populate(world: SimWorld, g: SimGuild, members: APIUser[], { rand, chance, pick, id, hex, joinedAt }: Draw): void {
  const n = members.length;
  const ln = Math.log(n);
  const guildId = g.guild.id;

  // Roles: a handful in a small guild, dozens in a large one.
  const roleCount = Math.min(200, Math.round(2 + 2.5 * ln));
  const roles = Array.from({ length: roleCount }, (_, k) =>
    newRole({ id: id(), name: `${pick(WORDS)}-${k}`, position: k + 2, permissions: '0', color: chance(0.6) ? Math.floor(rand() * 0xffffff) : 0, hoist: chance(0.2), mentionable: chance(0.3) }),
  );
  for (const r of roles) g.roles.set(r.id, r);

  // Channels: text and voice under categories of about eight.
  const textCount = Math.min(300, Math.round(2 + 2 * ln));
  const voiceCount = Math.min(100, Math.round(1 + ln / 2));
  const categories = Array.from({ length: Math.ceil((textCount + voiceCount) / 8) }, (_, k) =>
    guildChannel({ id: id(), guild_id: guildId, type: ChannelType.GuildCategory, name: `${pick(WORDS)} ${k}`, position: k }),
  );
  const add = (c: SimGuildChannel) => (g.channels.set(c.id, c), c);
  categories.forEach(add);
  const parent = (k: number) => categories[Math.floor(k / 8)]!.id;
  const texts = Array.from({ length: textCount }, (_, k) =>
    add(guildChannel({ id: id(), guild_id: guildId, type: k % 10 === 9 ? ChannelType.GuildAnnouncement : ChannelType.GuildText, name: `${pick(WORDS)}-${k}`, position: k, parent_id: parent(k), topic: chance(0.4) ? `About ${pick(WORDS)}` : null })),
  );
  const voices = Array.from({ length: voiceCount }, (_, k) =>
    add(guildChannel({ id: id(), guild_id: guildId, type: ChannelType.GuildVoice, name: `Voice ${k + 1}`, position: k, parent_id: parent(textCount + k) })),
  );
  g.guild.system_channel_id = texts[0]!.id;

  // Active threads: about one per 200 members, at most 100.
  const threadCount = Math.min(100, Math.floor(rand() * (1 + n / 100)));
  for (let k = 0; k < threadCount; k++) {
    const owner = pick(members);
    const created = new Date(WORLD_TIME - Math.floor(rand() * DAY)).toISOString();
    const thread: APIThreadChannel = {
      id: id(), type: ChannelType.PublicThread, guild_id: guildId, parent_id: pick(texts).id, name: `${pick(WORDS)} thread ${k}`, owner_id: owner.id,
      last_message_id: null, rate_limit_per_user: 0, message_count: Math.floor(rand() * 50), total_message_sent: 0, member_count: 1,
      thread_metadata: { archived: false, auto_archive_duration: ThreadAutoArchiveDuration.OneDay, archive_timestamp: created, locked: false, create_timestamp: created },
    };
    g.channels.set(thread.id, thread);
    g.threadMembers.set(thread.id, new Set([owner.id]));
  }

  // Expressions: a large guild has more boosts, so more emoji and sticker slots.
  const emojiCount = Math.min(250, Math.floor(rand() * 2 * Math.sqrt(n)));
  for (let k = 0; k < emojiCount; k++) {
    const emoji: APIEmoji = { id: id(), name: `${pick(WORDS)}${k}`, roles: [], require_colons: true, managed: false, animated: chance(0.2), available: true };
    g.guild.emojis.push(emoji);
  }
  const stickers: APISticker[] = [];
  for (let k = 0; k < Math.min(60, Math.floor(emojiCount / 10)); k++) {
    stickers.push({ id: id(), name: `${pick(WORDS)} ${k}`, tags: pick(WORDS), description: null, type: StickerType.Guild, format_type: StickerFormatType.PNG, available: true, guild_id: guildId });
  }
  g.guild.stickers = stickers;

  // Members (the owner and the bot were added with the guild), presences and voice states.
  const online = Math.max(REALISTIC.online.floor, REALISTIC.online.small - REALISTIC.online.perDecade * Math.log10(n));
  const assignable = roles.map((r) => r.id);
  for (const user of members) {
    if (!g.members.has(user.id)) {
      const memberRoles = chance(0.5) ? [pick(assignable)] : [];
      if (chance(0.2)) memberRoles.push(pick(assignable));
      g.members.set(user.id, newMember(user, [...new Set(memberRoles)], pick(joinedAt)));
    }
    if (!chance(online)) continue;
    const status = pick(STATUSES);
    const activities: GatewayActivity[] = chance(REALISTIC.withActivity) ? [{ id: 'a1', name: pick(GAMES), type: ActivityType.Playing, created_at: WORLD_TIME }] : [];
    const presence: GatewayPresenceUpdateDispatchData = { user: { id: user.id }, guild_id: guildId, status, activities, client_status: { desktop: status } };
    g.presences.set(user.id, presence);
    if (voices.length > 0 && chance(REALISTIC.inVoice)) {
      const voice: APIBaseVoiceState = {
        channel_id: pick(voices).id, user_id: user.id, session_id: hex(), deaf: false, mute: false, self_deaf: false, self_mute: chance(0.3),
        self_video: false, suppress: false, request_to_speak_timestamp: null,
      };
      g.voiceStates.set(user.id, voice);
    }
  }
}
