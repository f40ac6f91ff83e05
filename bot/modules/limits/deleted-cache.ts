// What the bot's cache held of recently deleted channels and roles: the fields a revert needs that
// an audit entry does not carry (position, parent, topic). Filled from the CHANNEL_DELETE and
// GUILD_ROLE_DELETE dispatches (discord.js hands over the object it just removed); an object
// whose audit entry comes before its delete dispatch is still in the guild's cache.
import type { Client, Guild } from 'discord.js';

const KEEP_MS = 120_000;

export interface CachedChannel {
  type: number;
  position: number;
  parent_id: string | null;
  topic?: string | null;
}

export interface CachedRole {
  position: number;
}

export class DeletedCache {
  private readonly channels = new Map<string, { at: number; value: CachedChannel }>();
  private readonly roles = new Map<string, { at: number; value: CachedRole }>();

  listen(client: Client): void {
    client.on('channelDelete', (channel) => {
      if (!('guild' in channel) || channel.isThread()) return;
      this.put(this.channels, channel.id, { type: channel.type, position: channel.rawPosition, parent_id: channel.parentId, topic: 'topic' in channel ? channel.topic : undefined });
    });
    client.on('roleDelete', (role) => this.put(this.roles, role.id, { position: role.rawPosition }));
  }

  channel(guild: Guild, id: string): CachedChannel | undefined {
    const live = guild.channels.cache.get(id);
    if (live && !live.isThread()) return { type: live.type, position: live.rawPosition, parent_id: live.parentId, topic: 'topic' in live ? live.topic : undefined };
    return this.channels.get(id)?.value;
  }

  role(guild: Guild, id: string): CachedRole | undefined {
    const live = guild.roles.cache.get(id);
    return live ? { position: live.rawPosition } : this.roles.get(id)?.value;
  }

  private put<T>(map: Map<string, { at: number; value: T }>, id: string, value: T): void {
    const now = Date.now();
    for (const [key, entry] of map) if (entry.at < now - KEEP_MS) map.delete(key);
    map.set(id, { at: now, value });
  }
}
