// Load: users and moderators acting on random guilds, each action changing the world and
// sending the dispatches Discord sends for it. Every kind of event that changes a GUILD_CREATE
// is among them (members, roles, channels, threads, emojis, stickers, voice, presences, stage
// instances, scheduled events, pins, messages), weighted towards messages like real traffic.
// `--rate` runs it on a timer; POST /_sim/load runs a seeded batch at once.
import {
  type APIGuildMember,
  type APIRole,
  type APITextChannel,
  type APIUser,
  ChannelType,
  type GatewayGuildMemberAddDispatchData,
  type GatewayGuildMemberRemoveDispatchData,
  type GatewayGuildMemberUpdateDispatchData,
  type GatewayGuildRoleModifyDispatchData,
  type GatewayGuildUpdateDispatchData,
  GuildScheduledEventStatus,
  type PresenceUpdateReceiveStatus,
  PresenceUpdateStatus,
} from 'discord-api-types/v10';
import { addMember } from './generate';
import { guildChannel } from './payloads';
import * as entities from './guild-entities';
import type { SimDispatch } from './contract';
import type { SimGuild, SimWorld } from './world';

const TICK_MS = 20;
const KEEP_MESSAGES = 200;
/** Caps that keep a long run's guilds at a realistic size. */
const MAX = { emojis: 8, stickers: 4, roles: 12, channels: 16, threads: 6, events: 4 };
const STATUSES: PresenceUpdateReceiveStatus[] = [PresenceUpdateStatus.Online, PresenceUpdateStatus.Idle, PresenceUpdateStatus.DoNotDisturb, PresenceUpdateStatus.Offline];

type Member = APIGuildMember & { user: APIUser };
interface Actor {
  world: SimWorld;
  g: SimGuild;
  rand: () => number;
  pick: <T>(list: T[]) => T | undefined;
  member: Member;
  owner: string;
}

const textChannels = (g: SimGuild) => [...g.channels.values()].filter((c): c is APITextChannel => c.type === ChannelType.GuildText);
const threads = (g: SimGuild) => [...g.channels.values()].filter(entities.isThread);
const loadChannels = (g: SimGuild) => textChannels(g).filter((c) => c.name?.startsWith('load-') && !threads(g).some((t) => t.parent_id === c.id));
const loadRoles = (g: SimGuild) => [...g.roles.values()].filter((r) => r.name.startsWith('load-'));

/** Each action with its weight; an action that finds nothing to do sends nothing. */
const ACTIONS: [number, (a: Actor) => void][] = [
  [12, ({ world, g, pick, member }) => {
    const channel = pick([...textChannels(g), ...threads(g).filter((t) => !t.thread_metadata?.archived)]);
    if (!channel) return;
    world.postMessage(g, world.newMessage(channel.id, member.user, `load ${world.ids.next()}`));
    const list = g.messages.get(channel.id)!;
    if (list.length > KEEP_MESSAGES) list.splice(0, list.length - KEEP_MESSAGES);
  }],
  [3, ({ world, g, pick }) => {
    const m = g.messages.get(pick(textChannels(g))?.id ?? '')?.at(-1);
    if (!m) return;
    m.content = `${m.content} (edited)`;
    m.edited_timestamp = new Date().toISOString();
    world.emitDispatch('MESSAGE_UPDATE', { ...m, guild_id: g.guild.id }, g.guild.id);
  }],
  [3, ({ world, g, pick, member }) => {
    const channel = pick(textChannels(g));
    if (channel) world.emitDispatch('TYPING_START', { channel_id: channel.id, guild_id: g.guild.id, user_id: member.user.id, timestamp: Math.floor(Date.now() / 1000) }, g.guild.id);
  }],
  [5, ({ world, g, pick, member }) => entities.setPresence(world, g, member.user.id, pick(STATUSES)!)],
  [3, ({ world, g, rand, member }) => {
    // GUILD_MEMBER_UPDATE leaves out deaf and mute: receivers merge it over what they hold.
    member.nick = rand() < 0.3 ? null : `nick${Math.floor(rand() * 1000)}`;
    member.banner ??= null;
    const { deaf: _d, mute: _m, ...partial } = member;
    const d: GatewayGuildMemberUpdateDispatchData = { ...partial, avatar: partial.avatar ?? null, banner: partial.banner ?? null, guild_id: g.guild.id };
    world.emitDispatch('GUILD_MEMBER_UPDATE', d, g.guild.id);
  }],
  [2, ({ world, g, pick }) => {
    const user = pick([...world.users.values()].filter((u) => !g.members.has(u.id) && !g.bans.has(u.id)));
    if (!user) return;
    addMember(g, user, []);
    const d: GatewayGuildMemberAddDispatchData = { ...g.members.get(user.id)!, guild_id: g.guild.id };
    world.emitDispatch('GUILD_MEMBER_ADD', d, g.guild.id);
  }],
  [2, ({ world, g, pick, owner }) => {
    const m = pick([...g.members.values()].filter((x) => x.user.id !== owner && !x.user.bot));
    if (!m || g.members.size < 6) return;
    if (g.voiceStates.has(m.user.id)) entities.setVoiceState(world, g, m.user.id, null);
    g.members.delete(m.user.id);
    g.presences.delete(m.user.id);
    const d: GatewayGuildMemberRemoveDispatchData = { guild_id: g.guild.id, user: m.user };
    world.emitDispatch('GUILD_MEMBER_REMOVE', d, g.guild.id);
  }],
  [5, ({ world, g, pick, rand, member }) => {
    const voice = [...g.channels.values()].filter((c) => c.type === ChannelType.GuildVoice || c.type === ChannelType.GuildStageVoice);
    const leave = g.voiceStates.has(member.user.id) && rand() < 0.4;
    entities.setVoiceState(world, g, member.user.id, leave ? null : (pick(voice)?.id ?? null), { self_mute: rand() < 0.5 });
  }],
  [2, ({ world, g, rand, pick }) => {
    // A moderator creates, renames or deletes a channel.
    const existing = loadChannels(g);
    if (existing.length > 0 && (rand() < 0.4 || g.channels.size >= MAX.channels)) {
      const c = pick(existing)!;
      if (rand() < 0.5) {
        g.channels.delete(c.id);
        g.messages.delete(c.id);
        world.emitDispatch('CHANNEL_DELETE', c, g.guild.id);
      } else {
        c.topic = `topic ${world.ids.next()}`;
        world.emitDispatch('CHANNEL_UPDATE', c, g.guild.id);
      }
      return;
    }
    const channel = guildChannel({ id: world.ids.next(), type: ChannelType.GuildText, guild_id: g.guild.id, name: `load-${g.channels.size}`, position: g.channels.size });
    g.channels.set(channel.id, channel);
    world.emitDispatch('CHANNEL_CREATE', channel, g.guild.id);
  }],
  [2, ({ world, g, rand, pick }) => {
    const existing = loadRoles(g);
    if (existing.length > 0 && (rand() < 0.4 || g.roles.size >= MAX.roles)) {
      const role = pick(existing)!;
      if (rand() < 0.5) {
        g.roles.delete(role.id);
        for (const m of g.members.values()) m.roles = m.roles.filter((r) => r !== role.id);
        world.emitDispatch('GUILD_ROLE_DELETE', { guild_id: g.guild.id, role_id: role.id }, g.guild.id);
      } else {
        role.color = Math.floor(rand() * 0xffffff);
        const d: GatewayGuildRoleModifyDispatchData = { guild_id: g.guild.id, role };
        world.emitDispatch('GUILD_ROLE_UPDATE', d, g.guild.id);
      }
      return;
    }
    const role: APIRole = { id: world.ids.next(), name: `load-${g.roles.size}`, color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null }, hoist: false, icon: null, unicode_emoji: null, position: 1, permissions: '0', managed: false, mentionable: false, flags: [...g.roles.values()][0]!.flags };
    g.roles.set(role.id, role);
    const d: GatewayGuildRoleModifyDispatchData = { guild_id: g.guild.id, role };
    world.emitDispatch('GUILD_ROLE_CREATE', d, g.guild.id);
  }],
  [1, ({ world, g }) => {
    g.guild.description = `updated ${world.ids.next()}`;
    const d: GatewayGuildUpdateDispatchData = { ...g.guild, roles: [...g.roles.values()] };
    world.emitDispatch('GUILD_UPDATE', d, g.guild.id);
  }],
  [2, ({ world, g, rand, pick, owner }) => {
    const emoji = pick(g.guild.emojis);
    if (emoji && (rand() < 0.4 || g.guild.emojis.length >= MAX.emojis)) {
      if (rand() < 0.5) entities.deleteEmoji(world, g, owner, emoji);
      else entities.updateEmoji(world, g, owner, emoji, { name: `e${world.ids.next().slice(-6)}` });
    } else entities.createEmoji(world, g, owner, `e${world.ids.next().slice(-6)}`);
  }],
  [2, ({ world, g, rand, pick, owner }) => {
    const stickers = g.guild.stickers ?? [];
    const sticker = pick(stickers);
    if (sticker && (rand() < 0.4 || stickers.length >= MAX.stickers)) {
      if (rand() < 0.5) entities.deleteSticker(world, g, owner, sticker);
      else entities.updateSticker(world, g, owner, sticker, { tags: `tag${Math.floor(rand() * 100)}` });
    } else entities.createSticker(world, g, owner, `s${world.ids.next().slice(-6)}`, 'load', null);
  }],
  [4, ({ world, g, rand, pick, member }) => {
    const all = threads(g);
    const thread = pick(all);
    const r = rand();
    if (!thread || (all.length < MAX.threads && r < 0.25)) {
      const parent = pick(textChannels(g));
      if (parent) entities.createThread(world, g, member.user.id, parent.id, `thread ${world.ids.next().slice(-4)}`, rand() < 0.8 ? ChannelType.PublicThread : ChannelType.PrivateThread);
    } else if (r < 0.45) entities.updateThread(world, g, member.user.id, thread, { archived: !thread.thread_metadata?.archived });
    else if (r < 0.55) entities.updateThread(world, g, member.user.id, thread, { name: `renamed ${world.ids.next().slice(-4)}` });
    else if (r < 0.65) entities.deleteThread(world, g, member.user.id, thread);
    else if (!thread.thread_metadata?.archived) {
      if (!entities.joinThread(world, g, thread, member.user.id)) entities.leaveThread(world, g, thread, member.user.id);
    }
  }],
  [2, ({ world, g, pick, member }) => {
    const channel = pick(textChannels(g));
    const message = channel && pick(g.messages.get(channel.id) ?? []);
    if (channel && message) entities.pinMessage(world, g, member.user.id, channel.id, message.id);
  }],
  [2, ({ world, g, rand, owner }) => {
    const stageChannel = [...g.channels.values()].find((c) => c.type === ChannelType.GuildStageVoice);
    if (!stageChannel) return;
    const stage = g.stageInstances.get(stageChannel.id);
    if (!stage) entities.createStageInstance(world, g, owner, stageChannel.id, `stage ${world.ids.next().slice(-4)}`);
    else if (rand() < 0.5) entities.updateStageInstance(world, g, owner, stage, `topic ${world.ids.next().slice(-4)}`);
    else entities.deleteStageInstance(world, g, owner, stage);
  }],
  [3, ({ world, g, rand, pick, owner, member }) => {
    const events = [...g.scheduledEvents.values()];
    const event = pick(events);
    const r = rand();
    if (!event || (events.length < MAX.events && r < 0.25)) {
      const voice = [...g.channels.values()].find((c) => c.type === ChannelType.GuildVoice);
      const start = new Date(Date.now() + 86_400_000).toISOString();
      entities.createScheduledEvent(world, g, owner, { name: `event ${world.ids.next().slice(-4)}`, start, end: null, channelId: rand() < 0.5 && voice ? voice.id : null, location: 'Town hall' });
    } else if (r < 0.45) {
      const status = event.status === GuildScheduledEventStatus.Scheduled ? GuildScheduledEventStatus.Active : undefined;
      entities.updateScheduledEvent(world, g, owner, event, { name: `event ${world.ids.next().slice(-4)}`, status });
    } else if (r < 0.55) entities.deleteScheduledEvent(world, g, owner, event);
    else entities.setEventInterest(world, g, event, member.user.id, !g.scheduledEventUsers.get(event.id)?.has(member.user.id));
  }],
];
const TOTAL_WEIGHT = ACTIONS.reduce((n, [w]) => n + w, 0);

/** One random action on a random guild. */
function act(world: SimWorld, guilds: SimGuild[], rand: () => number): void {
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(rand() * list.length)];
  const g = pick(guilds)!;
  const member = pick([...g.members.values()].filter((m) => !m.user.bot));
  if (!member) return;
  let roll = rand() * TOTAL_WEIGHT;
  const action = ACTIONS.find(([w]) => (roll -= w) < 0)?.[1] ?? ACTIONS[0]![1];
  action({ world, g, rand, pick, member, owner: g.guild.owner_id });
}

/** Runs actions until at least `events` dispatches went out; returns how many of each kind. */
export function runLoad(world: SimWorld, events: number, rand: () => number): Record<string, number> {
  const guilds = [...world.guilds.values()].filter((g) => g.members.size > 0);
  const kinds: Record<string, number> = {};
  let sent = 0;
  const count = (e: SimDispatch) => {
    kinds[e.t] = (kinds[e.t] ?? 0) + 1;
    sent++;
  };
  world.on('dispatch', count);
  try {
    while (guilds.length > 0 && sent < events) act(world, guilds, rand);
  } finally {
    world.off('dispatch', count);
  }
  return kinds;
}

export function startLoadGenerator(world: SimWorld, eventsPerSecond: number): () => void {
  if (eventsPerSecond <= 0) return () => {};
  let debt = 0;
  const timer = setInterval(() => {
    debt += (eventsPerSecond * TICK_MS) / 1000;
    if (debt < 1) return;
    const kinds = runLoad(world, Math.floor(debt), Math.random);
    debt -= Object.values(kinds).reduce((a, b) => a + b, 0);
  }, TICK_MS);
  return () => clearInterval(timer);
}
