// Changes to a guild's expressions, threads, voice states, presences, stage instances and
// scheduled events, each with the dispatch Discord sends for it (and its audit-log entry for
// moderator actions). REST routes (rest/*.ts), the control API and the load generator all go
// through these, so the gateway sees the same events whoever acts.
import {
  type APIAuditLogChange,
  type APIBaseVoiceState,
  type APIChannel,
  type APIEmoji,
  type APIGuildScheduledEvent,
  type APIStageInstance,
  type APISticker,
  type APIThreadChannel,
  AuditLogEvent,
  ChannelType,
  type GatewayChannelPinsUpdateDispatchData,
  type GatewayGuildEmojisUpdateDispatchData,
  type GatewayGuildScheduledEventUserAddDispatchData,
  type GatewayGuildStickersUpdateDispatchData,
  type GatewayPresenceUpdateDispatchData,
  type GatewayThreadCreateDispatchData,
  type GatewayThreadDeleteDispatchData,
  type GatewayThreadMembersUpdateDispatchData,
  type GatewayVoiceStateUpdateDispatchData,
  GuildScheduledEventEntityType,
  GuildScheduledEventPrivacyLevel,
  GuildScheduledEventStatus,
  type PresenceUpdateReceiveStatus,
  StageInstancePrivacyLevel,
  StickerFormatType,
  StickerType,
  ThreadAutoArchiveDuration,
  ThreadMemberFlags,
} from 'discord-api-types/v10';
import type { SimGuild, SimWorld } from './world';

export type ThreadType = ChannelType.PublicThread | ChannelType.PrivateThread | ChannelType.AnnouncementThread;
type Change = APIAuditLogChange;

function audit(world: SimWorld, g: SimGuild, userId: string, action: AuditLogEvent, targetId: string, changes: Change[], reason?: string): void {
  world.addAudit(g, { action_type: action, user_id: userId, target_id: targetId, changes, ...(reason === undefined ? {} : { reason }) });
}

// Emojis and stickers: each change sends the guild's whole list.

export function createEmoji(world: SimWorld, g: SimGuild, userId: string, name: string, roles: string[] = []): APIEmoji {
  const emoji: APIEmoji = { id: world.ids.next(), name, roles, user: world.users.get(userId), require_colons: true, managed: false, animated: false, available: true };
  g.guild.emojis.push(emoji);
  emojisChanged(world, g);
  audit(world, g, userId, AuditLogEvent.EmojiCreate, emoji.id!, [{ key: 'name', new_value: name }]);
  return emoji;
}

export function updateEmoji(world: SimWorld, g: SimGuild, userId: string, emoji: APIEmoji, changes: { name?: string; roles?: string[] }): APIEmoji {
  const diff: Change[] = [];
  if (changes.name !== undefined) diff.push({ key: 'name', old_value: emoji.name ?? undefined, new_value: (emoji.name = changes.name) });
  if (changes.roles !== undefined) emoji.roles = changes.roles;
  emojisChanged(world, g);
  audit(world, g, userId, AuditLogEvent.EmojiUpdate, emoji.id!, diff);
  return emoji;
}

export function deleteEmoji(world: SimWorld, g: SimGuild, userId: string, emoji: APIEmoji, reason?: string): void {
  g.guild.emojis = g.guild.emojis.filter((e) => e.id !== emoji.id);
  emojisChanged(world, g);
  audit(world, g, userId, AuditLogEvent.EmojiDelete, emoji.id!, [{ key: 'name', old_value: emoji.name ?? undefined }], reason);
}

function emojisChanged(world: SimWorld, g: SimGuild): void {
  const d: GatewayGuildEmojisUpdateDispatchData = { guild_id: g.guild.id, emojis: g.guild.emojis };
  world.emitDispatch('GUILD_EMOJIS_UPDATE', d, g.guild.id);
}

export function createSticker(world: SimWorld, g: SimGuild, userId: string, name: string, tags: string, description: string | null): APISticker {
  const sticker: APISticker = {
    id: world.ids.next(), name, tags, description, type: StickerType.Guild, format_type: StickerFormatType.PNG, available: true,
    guild_id: g.guild.id, user: world.users.get(userId),
  };
  (g.guild.stickers ??= []).push(sticker);
  stickersChanged(world, g);
  audit(world, g, userId, AuditLogEvent.StickerCreate, sticker.id, [{ key: 'name', new_value: name }]);
  return sticker;
}

export function updateSticker(world: SimWorld, g: SimGuild, userId: string, sticker: APISticker, changes: { name?: string; tags?: string; description?: string | null }): APISticker {
  const diff: Change[] = [];
  if (changes.name !== undefined) diff.push({ key: 'name', old_value: sticker.name, new_value: (sticker.name = changes.name) });
  if (changes.tags !== undefined) diff.push({ key: 'tags', old_value: sticker.tags, new_value: (sticker.tags = changes.tags) });
  if (changes.description !== undefined) diff.push({ key: 'description', old_value: sticker.description ?? undefined, new_value: (sticker.description = changes.description) ?? undefined });
  stickersChanged(world, g);
  audit(world, g, userId, AuditLogEvent.StickerUpdate, sticker.id, diff);
  return sticker;
}

export function deleteSticker(world: SimWorld, g: SimGuild, userId: string, sticker: APISticker): void {
  g.guild.stickers = (g.guild.stickers ?? []).filter((s) => s.id !== sticker.id);
  stickersChanged(world, g);
  audit(world, g, userId, AuditLogEvent.StickerDelete, sticker.id, [{ key: 'name', old_value: sticker.name }]);
}

function stickersChanged(world: SimWorld, g: SimGuild): void {
  const d: GatewayGuildStickersUpdateDispatchData = { guild_id: g.guild.id, stickers: g.guild.stickers ?? [] };
  world.emitDispatch('GUILD_STICKERS_UPDATE', d, g.guild.id);
}

// Threads live among the guild's channels (messages and lookups work alike); GUILD_CREATE
// lists the active ones apart.

export function isThreadType(type: number): boolean {
  return type === ChannelType.PublicThread || type === ChannelType.PrivateThread || type === ChannelType.AnnouncementThread;
}

export function isThread(channel: APIChannel): channel is APIThreadChannel {
  return isThreadType(channel.type);
}

export function createThread(world: SimWorld, g: SimGuild, userId: string, parentId: string, name: string, type: ThreadType, autoArchive = ThreadAutoArchiveDuration.OneDay): APIThreadChannel {
  const now = new Date().toISOString();
  const thread: APIThreadChannel = {
    id: world.ids.next(), type, guild_id: g.guild.id, parent_id: parentId, name, owner_id: userId, last_message_id: null,
    rate_limit_per_user: 0, message_count: 0, total_message_sent: 0, member_count: 0,
    thread_metadata: { archived: false, auto_archive_duration: autoArchive, archive_timestamp: now, locked: false, create_timestamp: now, ...(type === ChannelType.PrivateThread ? { invitable: true } : {}) },
  };
  g.channels.set(thread.id, thread);
  g.threadMembers.set(thread.id, new Set());
  const d: GatewayThreadCreateDispatchData = { ...thread, newly_created: true };
  world.emitDispatch('THREAD_CREATE', d, g.guild.id);
  audit(world, g, userId, AuditLogEvent.ThreadCreate, thread.id, [{ key: 'name', new_value: name }]);
  joinThread(world, g, thread, userId);
  return thread;
}

export function updateThread(world: SimWorld, g: SimGuild, userId: string, thread: APIThreadChannel, changes: { name?: string; archived?: boolean; locked?: boolean }): APIThreadChannel {
  const meta = thread.thread_metadata!;
  const diff: Change[] = [];
  if (changes.name !== undefined) diff.push({ key: 'name', old_value: thread.name, new_value: (thread.name = changes.name) });
  if (changes.locked !== undefined) diff.push({ key: 'locked', old_value: meta.locked, new_value: (meta.locked = changes.locked) });
  if (changes.archived !== undefined && changes.archived !== meta.archived) {
    diff.push({ key: 'archived', old_value: meta.archived, new_value: (meta.archived = changes.archived) });
    meta.archive_timestamp = new Date().toISOString();
  }
  world.emitDispatch('THREAD_UPDATE', thread, g.guild.id);
  audit(world, g, userId, AuditLogEvent.ThreadUpdate, thread.id, diff);
  return thread;
}

export function deleteThread(world: SimWorld, g: SimGuild, userId: string, thread: APIThreadChannel): void {
  g.channels.delete(thread.id);
  g.messages.delete(thread.id);
  g.threadMembers.delete(thread.id);
  const d: GatewayThreadDeleteDispatchData = { id: thread.id, guild_id: g.guild.id, parent_id: thread.parent_id!, type: thread.type };
  world.emitDispatch('THREAD_DELETE', d, g.guild.id);
  audit(world, g, userId, AuditLogEvent.ThreadDelete, thread.id, [{ key: 'name', old_value: thread.name }]);
}

/** Adds a member to a thread; false when already in it. */
export function joinThread(world: SimWorld, g: SimGuild, thread: APIThreadChannel, userId: string): boolean {
  const members = g.threadMembers.get(thread.id)!;
  if (members.has(userId)) return false;
  members.add(userId);
  thread.member_count = Math.min(members.size, 50);
  threadMembersChanged(world, g, thread, { added_members: [{ id: thread.id, user_id: userId, join_timestamp: new Date().toISOString(), flags: ThreadMemberFlags.HasInteracted }] });
  return true;
}

export function leaveThread(world: SimWorld, g: SimGuild, thread: APIThreadChannel, userId: string): boolean {
  const members = g.threadMembers.get(thread.id)!;
  if (!members.delete(userId)) return false;
  thread.member_count = Math.min(members.size, 50);
  threadMembersChanged(world, g, thread, { removed_member_ids: [userId] });
  return true;
}

function threadMembersChanged(world: SimWorld, g: SimGuild, thread: APIThreadChannel, change: Pick<GatewayThreadMembersUpdateDispatchData, 'added_members' | 'removed_member_ids'>): void {
  // member_count stops at 50, as Discord's does.
  const d: GatewayThreadMembersUpdateDispatchData = { id: thread.id, guild_id: g.guild.id, member_count: thread.member_count ?? 0, ...change };
  world.emitDispatch('THREAD_MEMBERS_UPDATE', d, g.guild.id);
}

// Voice states and presences: what users do, not moderator actions (no audit entries).

/** Joins, moves or (channelId null) leaves voice. */
export function setVoiceState(world: SimWorld, g: SimGuild, userId: string, channelId: string | null, flags: { self_mute?: boolean; self_deaf?: boolean } = {}): void {
  const member = g.members.get(userId);
  if (!member) return;
  const before = g.voiceStates.get(userId);
  const state: APIBaseVoiceState = {
    channel_id: channelId, user_id: userId, session_id: before?.session_id ?? world.ids.next(), deaf: member.deaf, mute: member.mute,
    self_deaf: flags.self_deaf ?? before?.self_deaf ?? false, self_mute: flags.self_mute ?? before?.self_mute ?? false,
    self_video: false, suppress: g.channels.get(channelId ?? '')?.type === ChannelType.GuildStageVoice, request_to_speak_timestamp: null,
  };
  if (channelId === null) g.voiceStates.delete(userId);
  else g.voiceStates.set(userId, state);
  const d: GatewayVoiceStateUpdateDispatchData = { ...state, guild_id: g.guild.id, member };
  world.emitDispatch('VOICE_STATE_UPDATE', d, g.guild.id);
}

/** A member's status; 'offline' removes them from GUILD_CREATE's presences. */
export function setPresence(world: SimWorld, g: SimGuild, userId: string, status: PresenceUpdateReceiveStatus): void {
  const d: GatewayPresenceUpdateDispatchData = { user: { id: userId }, guild_id: g.guild.id, status, activities: [], client_status: status === 'offline' ? {} : { desktop: status } };
  if (status === 'offline') g.presences.delete(userId);
  else g.presences.set(userId, d);
  world.emitDispatch('PRESENCE_UPDATE', d, g.guild.id);
}

/** Pins a message: the channel's last_pin_timestamp moves and CHANNEL_PINS_UPDATE is sent. */
export function pinMessage(world: SimWorld, g: SimGuild, userId: string, channelId: string, messageId: string): void {
  const channel = g.channels.get(channelId);
  const message = g.messages.get(channelId)?.find((m) => m.id === messageId);
  if (!channel || !message) return;
  message.pinned = true;
  const now = new Date().toISOString();
  Object.assign(channel, { last_pin_timestamp: now });
  const d: GatewayChannelPinsUpdateDispatchData = { guild_id: g.guild.id, channel_id: channelId, last_pin_timestamp: now };
  world.emitDispatch('CHANNEL_PINS_UPDATE', d, g.guild.id);
  world.addAudit(g, { action_type: AuditLogEvent.MessagePin, user_id: userId, target_id: message.author.id, options: { channel_id: channelId, message_id: messageId } });
}

// Stage instances and scheduled events.

export function createStageInstance(world: SimWorld, g: SimGuild, userId: string, channelId: string, topic: string, eventId?: string): APIStageInstance {
  const stage: APIStageInstance = {
    id: world.ids.next(), guild_id: g.guild.id, channel_id: channelId, topic, privacy_level: StageInstancePrivacyLevel.GuildOnly,
    discoverable_disabled: true, ...(eventId ? { guild_scheduled_event_id: eventId } : {}),
  };
  g.stageInstances.set(channelId, stage);
  world.emitDispatch('STAGE_INSTANCE_CREATE', stage, g.guild.id);
  audit(world, g, userId, AuditLogEvent.StageInstanceCreate, stage.id, [{ key: 'topic', new_value: topic }]);
  return stage;
}

export function updateStageInstance(world: SimWorld, g: SimGuild, userId: string, stage: APIStageInstance, topic: string): APIStageInstance {
  const old = stage.topic;
  stage.topic = topic;
  world.emitDispatch('STAGE_INSTANCE_UPDATE', stage, g.guild.id);
  audit(world, g, userId, AuditLogEvent.StageInstanceUpdate, stage.id, [{ key: 'topic', old_value: old, new_value: topic }]);
  return stage;
}

export function deleteStageInstance(world: SimWorld, g: SimGuild, userId: string, stage: APIStageInstance): void {
  g.stageInstances.delete(stage.channel_id);
  world.emitDispatch('STAGE_INSTANCE_DELETE', stage, g.guild.id);
  audit(world, g, userId, AuditLogEvent.StageInstanceDelete, stage.id, [{ key: 'topic', old_value: stage.topic }]);
}

/** An event in a voice channel, or (channelId null) an external one at `location`. */
export function createScheduledEvent(world: SimWorld, g: SimGuild, userId: string, spec: { name: string; start: string; end: string | null; channelId: string | null; location?: string; description?: string | null }): APIGuildScheduledEvent {
  const common = {
    id: world.ids.next(), guild_id: g.guild.id, creator_id: userId, creator: world.users.get(userId), name: spec.name, description: spec.description ?? null,
    scheduled_start_time: spec.start, privacy_level: GuildScheduledEventPrivacyLevel.GuildOnly, status: GuildScheduledEventStatus.Scheduled,
    entity_id: null, image: null, recurrence_rule: null,
  };
  const channel = spec.channelId ? g.channels.get(spec.channelId) : undefined;
  const event: APIGuildScheduledEvent = spec.channelId === null
    ? { ...common, channel_id: null, scheduled_end_time: spec.end ?? spec.start, entity_type: GuildScheduledEventEntityType.External, entity_metadata: { location: spec.location ?? 'Somewhere' } }
    : channel?.type === ChannelType.GuildStageVoice
      ? { ...common, channel_id: spec.channelId, scheduled_end_time: spec.end, entity_type: GuildScheduledEventEntityType.StageInstance, entity_metadata: null }
      : { ...common, channel_id: spec.channelId, scheduled_end_time: spec.end, entity_type: GuildScheduledEventEntityType.Voice, entity_metadata: null };
  g.scheduledEvents.set(event.id, event);
  g.scheduledEventUsers.set(event.id, new Set());
  world.emitDispatch('GUILD_SCHEDULED_EVENT_CREATE', event, g.guild.id);
  audit(world, g, userId, AuditLogEvent.GuildScheduledEventCreate, event.id, [{ key: 'name', new_value: spec.name }]);
  return event;
}

export function updateScheduledEvent(world: SimWorld, g: SimGuild, userId: string, event: APIGuildScheduledEvent, changes: { name?: string; description?: string | null; status?: GuildScheduledEventStatus }): APIGuildScheduledEvent {
  const diff: Change[] = [];
  if (changes.name !== undefined) diff.push({ key: 'name', old_value: event.name, new_value: (event.name = changes.name) });
  if (changes.description !== undefined) diff.push({ key: 'description', old_value: event.description ?? undefined, new_value: (event.description = changes.description) ?? undefined });
  if (changes.status !== undefined) diff.push({ key: 'status', old_value: event.status, new_value: (event.status = changes.status) });
  world.emitDispatch('GUILD_SCHEDULED_EVENT_UPDATE', event, g.guild.id);
  audit(world, g, userId, AuditLogEvent.GuildScheduledEventUpdate, event.id, diff);
  return event;
}

export function deleteScheduledEvent(world: SimWorld, g: SimGuild, userId: string, event: APIGuildScheduledEvent): void {
  g.scheduledEvents.delete(event.id);
  g.scheduledEventUsers.delete(event.id);
  world.emitDispatch('GUILD_SCHEDULED_EVENT_DELETE', event, g.guild.id);
  audit(world, g, userId, AuditLogEvent.GuildScheduledEventDelete, event.id, [{ key: 'name', old_value: event.name }]);
}

/** A member marks (or unmarks) interest in an event. GUILD_CREATE does not carry user_count. */
export function setEventInterest(world: SimWorld, g: SimGuild, event: APIGuildScheduledEvent, userId: string, interested: boolean): void {
  const users = g.scheduledEventUsers.get(event.id);
  if (!users || users.has(userId) === interested) return;
  if (interested) users.add(userId);
  else users.delete(userId);
  const d: GatewayGuildScheduledEventUserAddDispatchData = { guild_scheduled_event_id: event.id, user_id: userId, guild_id: g.guild.id };
  world.emitDispatch(interested ? 'GUILD_SCHEDULED_EVENT_USER_ADD' : 'GUILD_SCHEDULED_EVENT_USER_REMOVE', d, g.guild.id);
}
