// One discord-hybrid-sharding cluster as its users write it, for bench/footprint.bench.ts to set
// beside a splashtail bot cluster: a discord.js Client with default caches and our bot's intents,
// on the shards its ClusterManager gives it. Plain CommonJS run by Node alone (no tsx), as such a
// bot runs in production. argv[2]: the REST base (the sim's /api); the manager passes the token.
/* global process, require */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose (see above) */
const { Client, GatewayIntentBits } = require('discord.js');
const { ClusterClient, getInfo } = require('discord-hybrid-sharding');

const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.GuildModeration],
  shards: getInfo().SHARD_LIST,
  shardCount: getInfo().TOTAL_SHARDS,
  rest: { api: process.argv[2] },
});
client.cluster = new ClusterClient(client);
client.once('ready', () => client.cluster.triggerReady());
void client.login(process.env.DISCORD_TOKEN);
