// Complete Discord objects with Discord's defaults, typed by discord-api-types (no casts, so a
// field the types require cannot go missing). Where the types lag discord-api-docs, the docs win.
import {
  type APIGuildCategoryChannel,
  type APIGuildForumChannel,
  type APIGuildMediaChannel,
  type APIGuildMember,
  type APIGuildStageVoiceChannel,
  type APIGuildVoiceChannel,
  type APINewsChannel,
  type APIOverwrite,
  type APIRole,
  type APIRoleColors,
  type APIRoleTags,
  type APITextChannel,
  type APIUser,
  ChannelType,
  ForumLayoutType,
} from 'discord-api-types/v10';

/** An empty bit field: TypeScript's flag enums have no 0 member. */
export const NO_FLAGS: never = 0 as never;

/** Discord fills `colors` from `color` for every role (docs: Role Colors Object). */
export function roleColors(color: number, rest: Partial<APIRoleColors> = {}): APIRoleColors {
  return { primary_color: color, secondary_color: rest.secondary_color ?? null, tertiary_color: rest.tertiary_color ?? null };
}

export interface RoleSpec {
  id: string;
  name: string;
  position: number;
  permissions: string;
  color?: number;
  colors?: Partial<APIRoleColors>;
  hoist?: boolean;
  mentionable?: boolean;
  managed?: boolean;
  tags?: APIRoleTags;
}

export function newRole({ id, name, position, permissions, color = 0, colors, hoist = false, mentionable = false, managed = false, tags }: RoleSpec): APIRole {
  const primary = colors?.primary_color ?? color;
  return {
    id, name, color: primary, colors: roleColors(primary, colors), hoist, icon: null, unicode_emoji: null, position, permissions,
    managed, mentionable, flags: NO_FLAGS, ...(tags ? { tags } : {}),
  };
}

/** The channel types a guild channel can be created as (threads are created elsewhere). */
export type GuildChannelCreateType =
  | ChannelType.GuildText | ChannelType.GuildVoice | ChannelType.GuildCategory | ChannelType.GuildAnnouncement
  | ChannelType.GuildStageVoice | ChannelType.GuildForum | ChannelType.GuildMedia;
export const GUILD_CHANNEL_CREATE_TYPES: readonly number[] = [
  ChannelType.GuildText, ChannelType.GuildVoice, ChannelType.GuildCategory, ChannelType.GuildAnnouncement,
  ChannelType.GuildStageVoice, ChannelType.GuildForum, ChannelType.GuildMedia,
];
export const isGuildChannelCreateType = (type: number): type is GuildChannelCreateType => GUILD_CHANNEL_CREATE_TYPES.includes(type);

export type SimGuildChannel =
  | APITextChannel | APINewsChannel | APIGuildCategoryChannel | APIGuildVoiceChannel | APIGuildStageVoiceChannel
  | APIGuildForumChannel | APIGuildMediaChannel;

export interface ChannelSpec {
  id: string;
  guild_id: string;
  type: GuildChannelCreateType;
  name: string;
  position: number;
  parent_id?: string | null;
  topic?: string | null;
  nsfw?: boolean;
  rate_limit_per_user?: number;
  bitrate?: number;
  user_limit?: number;
  permission_overwrites?: APIOverwrite[];
}

/** A guild channel as GET /channels/:id returns it, per type. */
export function guildChannel(spec: ChannelSpec): SimGuildChannel {
  const base = {
    id: spec.id, guild_id: spec.guild_id, name: spec.name, position: spec.position, flags: 0,
    permission_overwrites: spec.permission_overwrites ?? [], nsfw: spec.nsfw ?? false,
  };
  const inCategory = { parent_id: spec.parent_id ?? null };
  const text = { ...inCategory, topic: spec.topic ?? null, rate_limit_per_user: spec.rate_limit_per_user ?? 0, last_message_id: null };
  const voice = { ...inCategory, bitrate: spec.bitrate ?? 64_000, rate_limit_per_user: spec.rate_limit_per_user ?? 0, rtc_region: null, last_message_id: null };
  const threadOnly = {
    ...inCategory, topic: spec.topic ?? null, rate_limit_per_user: spec.rate_limit_per_user ?? 0, last_message_id: null,
    available_tags: [], default_reaction_emoji: null, default_sort_order: null,
  };
  switch (spec.type) {
    case ChannelType.GuildCategory:
      return { ...base, type: spec.type, parent_id: null };
    case ChannelType.GuildText:
      return { ...base, ...text, type: spec.type };
    case ChannelType.GuildAnnouncement:
      return { ...base, ...text, type: spec.type };
    case ChannelType.GuildVoice:
      return { ...base, ...voice, type: spec.type, user_limit: spec.user_limit ?? 0 };
    case ChannelType.GuildStageVoice:
      return { ...base, ...voice, type: spec.type, user_limit: spec.user_limit ?? 0 };
    case ChannelType.GuildForum:
      return { ...base, ...threadOnly, type: spec.type, default_forum_layout: ForumLayoutType.NotSet };
    case ChannelType.GuildMedia:
      return { ...base, ...threadOnly, type: spec.type };
  }
}

export type SimMember = APIGuildMember & { user: APIUser };

export function newMember(user: APIUser, roles: string[], joinedAt: string): SimMember {
  return {
    user, roles, nick: null, avatar: null, banner: null, joined_at: joinedAt, premium_since: null, deaf: false, mute: false, flags: NO_FLAGS,
    pending: false, communication_disabled_until: null,
  };
}
