// An unmodified discord.js v14 Client against `./splashtail sim`; only the REST base URL differs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { ChannelType, Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { within } from '../helpers/deadline';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

interface SimGuildInfo {
  id: string;
  channels: { id: string; name: string; type: number }[];
}

describe('discord.js against the sim', () => {
  let sim: Running;
  let base: string;
  let client: Client;
  let guilds: SimGuildInfo[];
  const api = (path: string, init?: RequestInit) =>
    fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } }).then(async (r) => {
      assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
      return r.json();
    });

  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--shards', '4', '--guilds', '50', '--max-concurrency', '4', '--identify-interval-ms', '100', '--seed', '7']);
    const line = await sim.waitFor(/^sim listening on /);
    base = line.split(' ').at(-1)!;
    guilds = (await api('/_sim/guilds')) as SimGuildInfo[];
  });

  after(async () => {
    await client?.destroy();
    await sim?.stop();
  });

  it('logs in with 4 shards and receives READY and every GUILD_CREATE', async () => {
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMembers],
      rest: { api: `${base}/api` },
      shards: 'auto',
    });
    const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(60_000) });
    await client.login(DEFAULT_TOKEN);
    await ready;
    assert.equal(client.ws.shards.size, 4);
    assert.equal(client.guilds.cache.size, 50);
    assert.deepEqual([...client.guilds.cache.keys()].sort(), guilds.map((g) => g.id).sort());
    const stats = (await api('/_sim/stats')) as { shards: Record<string, { identifies: number }> };
    assert.deepEqual(Object.values(stats.shards).map((s) => s.identifies), [1, 1, 1, 1]);
  });

  it('replies to a message a user posts', async () => {
    const guild = guilds[0]!;
    const general = guild.channels.find((c) => c.name === 'general')!;
    const handler = (message: Message) => {
      if (message.content === '!hello') void message.reply('hello back');
    };
    client.on(Events.MessageCreate, handler);
    const reply = new Promise<Message>((resolve) => client.on(Events.MessageCreate, (m) => m.author.id === client.user!.id && resolve(m)));
    const posted = (await api(`/_sim/guilds/${guild.id}/channels/${general.id}/messages`, { method: 'POST', body: JSON.stringify({ content: '!hello' }) })) as { id: string };
    const answer = await within(reply, 15_000, 'the reply');
    client.off(Events.MessageCreate, handler);
    assert.equal(answer.content, 'hello back');
    assert.equal(answer.reference?.messageId, posted.id);
    const state = (await api(`/_sim/guilds/${guild.id}/state`)) as { messages: Record<string, { id: string; content: string }[]> };
    assert.equal(state.messages[general.id]!.at(-1)!.content, 'hello back');
  });

  it('answers a slash command with a deferred reply, then an edit', async () => {
    const guild = guilds[1]!;
    const channel = guild.channels.find((c) => c.name === 'general')!;
    client.once(Events.InteractionCreate, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      await interaction.editReply(`pong from ${interaction.commandName}`);
    });
    const created = (await api('/_sim/interactions', { method: 'POST', body: JSON.stringify({ guild_id: guild.id, channel_id: channel.id, command_name: 'ping' }) })) as { id: string };
    let result: { callback: { type: number } | null; original: { content: string } | null } | undefined;
    for (let i = 0; i < 50 && !result?.original?.content; i++) {
      await new Promise((r) => setTimeout(r, 100));
      result = (await api(`/_sim/interactions/${created.id}`)) as typeof result;
    }
    assert.equal(result?.callback?.type, 5, 'deferred channel message');
    assert.equal(result?.original?.content, 'pong from ping');
  });

  it('creates a role and a channel that the sim then holds, and the gateway announces both', async () => {
    const guild = await client.guilds.fetch(guilds[2]!.id);
    // The REST reply fills discord.js's cache by itself: watch the gateway packets instead.
    const packets: { t: string; d: { id?: string; role?: { id: string } } }[] = [];
    const onRaw = (packet: { t: string; d: { id?: string; role?: { id: string } } }) => packets.push(packet);
    client.on(Events.Raw, onRaw);
    const role = await guild.roles.create({ name: 'raid-watch', colors: { primaryColor: 0xabcdef } });
    const channel = await guild.channels.create({ name: 'incident-log', type: ChannelType.GuildText });
    const state = (await api(`/_sim/guilds/${guild.id}/state`)) as { roles: { id: string; name: string }[]; channels: { id: string; name: string }[] };
    assert.ok(state.roles.some((r) => r.id === role.id && r.name === 'raid-watch'));
    assert.ok(state.channels.some((c) => c.id === channel.id && c.name === 'incident-log'));
    assert.equal(role.colors.primaryColor, 0xabcdef);
    const seen = () => packets.some((p) => p.t === 'GUILD_ROLE_CREATE' && p.d.role?.id === role.id) && packets.some((p) => p.t === 'CHANNEL_CREATE' && p.d.id === channel.id);
    for (const deadline = Date.now() + 10_000; !seen() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    client.off(Events.Raw, onRaw);
    assert.ok(seen(), `GUILD_ROLE_CREATE and CHANNEL_CREATE on the gateway; saw ${packets.map((p) => p.t).join(', ')}`);
  });

  it('reads every current role field: member display colors come from roles.colors', () => {
    const sim = guilds[0]!;
    const guild = client.guilds.cache.get(sim.id)!;
    const memberRole = guild.roles.cache.find((r) => r.name === 'Member')!;
    assert.equal(memberRole.colors.primaryColor, 0x3498db);
    assert.equal(memberRole.hexColor, '#3498db');
    // discord.js reads role.colors for every member's display color (a TypeError without it).
    for (const member of guild.members.cache.values()) assert.equal(typeof member.displayColor, 'number');
  });
});
