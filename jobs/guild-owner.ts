// The jobserver asks Discord who owns a guild (to check who may restore a backup across guilds).
import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { Unavailable } from '../internal/http/service';

export function guildOwnerLookup(discord: { api?: string; token: string; timeoutSeconds: number }): (guildId: string) => Promise<string | undefined> {
  const rest = new REST({ ...(discord.api ? { api: discord.api } : {}), timeout: discord.timeoutSeconds * 1000, hashSweepInterval: 0, handlerSweepInterval: 0 }).setToken(discord.token);
  return async (guildId) => {
    try {
      return ((await rest.get(Routes.guild(guildId))) as { owner_id: string }).owner_id;
    } catch (err) {
      if (err instanceof DiscordAPIError && (err.status === 403 || err.status === 404)) return undefined;
      throw new Unavailable(`Discord could not be asked who owns guild ${guildId}; try again shortly`, { cause: err });
    }
  };
}
