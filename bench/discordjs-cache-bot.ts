// A discord.js Client with default caches and the proxy's default intents, for the memory
// benchmark: prints `CACHED <guilds> <members>` once every guild is in.
import { Client, Events } from 'discord.js';
import { DEFAULT_TOKEN } from '../internal/sim/world';

const client = new Client({ intents: Number(process.argv[3]), rest: { api: process.argv[2]! }, shards: 'auto' });
client.on(Events.ClientReady, () => {
  const members = client.guilds.cache.reduce((n, g) => n + g.members.cache.size, 0);
  process.stdout.write(`CACHED ${client.guilds.cache.size} ${members}\n`);
});
void client.login(DEFAULT_TOKEN);
