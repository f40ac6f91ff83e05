// The discord.js Client of one cluster: its shards only, REST at discord_auth.api_url, and the
// gateway at bot.gateway_url when one is set.
import { Routes } from 'discord-api-types/v10';
import { Client, GatewayIntentBits, type RESTGetAPIGatewayBotResult } from 'discord.js';
import type { Config } from '../internal/config';

export function createClient(config: Config, shards: number[], shardCount: number): Client {
  const client = new Client({
    // GuildModeration: GUILD_AUDIT_LOG_ENTRY_CREATE, which the limits module counts.
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.GuildModeration],
    shards,
    shardCount,
    rest: { api: config.discord_auth.api_url },
  });
  const gatewayUrl = config.bot.gateway_url;
  if (gatewayUrl) {
    // discord.js has no gateway-URL option: it connects to the `url` of GET /gateway/bot. When
    // the REST base is the proxy, the proxy already answers with itself; otherwise we substitute
    // the configured URL in that one answer.
    const get = client.rest.get.bind(client.rest);
    client.rest.get = (async (route: `/${string}`, options?: Parameters<typeof get>[1]) => {
      const result = await get(route, options);
      if (route === Routes.gatewayBot()) return { ...(result as RESTGetAPIGatewayBotResult), url: gatewayUrl.replace(/\/+$/, '') };
      return result;
    }) as typeof client.rest.get;
  }
  return client;
}
