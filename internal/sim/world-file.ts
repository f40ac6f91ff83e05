// `--world file.json`: a hand-written world. Format: {users: [APIUser], guilds: [{id, name,
// owner_id, channels: [APIChannel], roles: [APIRole], members: [{user_id, roles}],
// messages?: {<channel id>: [{id?, author_id, content}]}}]}.
import type { APIRole, APIRoleColors, APIUser } from 'discord-api-types/v10';
import { addMember, createGuild } from './generate';
import { roleColors, type SimGuildChannel } from './payloads';
import { SimWorld } from './world';

interface WorldFile {
  users?: APIUser[];
  guilds?: {
    id: string;
    name: string;
    owner_id: string;
    channels?: SimGuildChannel[];
    /** `colors` may be left out: Discord derives it from `color`. */
    roles?: (Omit<APIRole, 'colors'> & { colors?: APIRoleColors })[];
    members?: { user_id: string; roles?: string[] }[];
    messages?: Record<string, { id?: string; author_id: string; content: string }[]>;
  }[];
}

export function loadWorld(file: WorldFile, token?: string): SimWorld {
  const world = new SimWorld(token);
  for (const user of file.users ?? []) world.users.set(user.id, user);
  for (const spec of file.guilds ?? []) {
    if (!world.users.has(spec.owner_id)) throw new Error(`world file: guild ${spec.id}: owner ${spec.owner_id} is not in users`);
    const g = createGuild(world, { id: spec.id, name: spec.name, ownerId: spec.owner_id, idGen: () => world.ids.next(), populated: !spec.channels });
    for (const role of spec.roles ?? []) g.roles.set(role.id, { ...role, colors: role.colors ?? roleColors(role.color) });
    for (const channel of spec.channels ?? []) g.channels.set(channel.id, { ...channel, guild_id: spec.id });
    for (const m of spec.members ?? []) {
      const user = world.users.get(m.user_id);
      if (!user) throw new Error(`world file: guild ${spec.id}: member ${m.user_id} is not in users`);
      addMember(g, user, m.roles ?? []);
    }
    for (const [channelId, list] of Object.entries(spec.messages ?? {})) {
      g.messages.set(channelId, list.map((m) => world.newMessage(channelId, world.users.get(m.author_id)!, m.content, m.id ? { id: m.id } : {})));
    }
  }
  return world;
}
