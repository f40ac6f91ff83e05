// Compression against a real client: @discordjs/ws with zlib-stream transport compression
// (node:zlib) and with IDENTIFY `compress: true`, each over 2 shards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { type GatewayDispatchPayload, GatewayIntentBits } from 'discord-api-types/v10';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

describe('@discordjs/ws with compression against the sim', () => {
  let sim: Running;
  let base: string;
  const managers: WebSocketManager[] = [];

  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--shards', '2', '--guilds', '6', '--identify-interval-ms', '0', '--max-concurrency', '2']);
    base = /^sim listening on (\S+)/.exec(await sim.waitFor(/^sim listening on /))![1]!;
  });
  after(async () => {
    for (const m of managers) await m.destroy();
    await sim?.stop();
  });

  const modes = [
    ['zlib-stream transport compression', { compression: CompressionMethod.ZlibNative }, 'compression: zlib-stream'],
    ['IDENTIFY compress: true', { compression: null, useIdentifyCompression: true }, 'compression: identify'],
  ] as const;
  for (const [name, options, debugLine] of modes) {
    it(`${name}: every GUILD_CREATE, then messages in order`, async () => {
      const guilds = (await (await fetch(`${base}/_sim/guilds`)).json()) as { id: string; channels: { id: string; name: string }[] }[];
      const manager = new WebSocketManager({
        token: DEFAULT_TOKEN,
        intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
        rest: new REST({ api: `${base}/api` }).setToken(DEFAULT_TOKEN),
        shardCount: 2,
        ...options,
      });
      managers.push(manager);
      const debug: string[] = [];
      manager.on(WebSocketShardEvents.Debug, (message: string) => debug.push(message));
      const created = new Set<string>();
      const contents: string[] = [];
      let allCreated!: () => void;
      const ready = new Promise<void>((resolve) => (allCreated = resolve));
      manager.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload) => {
        if (payload.t === 'GUILD_CREATE') created.add(payload.d.id);
        if (created.size === guilds.length) allCreated();
        if (payload.t === 'MESSAGE_CREATE') contents.push(payload.d.content);
      });
      await manager.connect();
      await ready;
      assert.deepEqual([...created].sort(), guilds.map((g) => g.id).sort());
      assert.ok(debug.some((m) => m.includes(debugLine)), `the client used ${debugLine}`);

      const guild = guilds[0]!;
      const channel = guild.channels.find((c) => c.name === 'general')!;
      const sent = Array.from({ length: 20 }, (_, i) => `${name} ${i} ${'x'.repeat(i * 40)}`);
      for (const content of sent) {
        await fetch(`${base}/_sim/guilds/${guild.id}/channels/${channel.id}/messages`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
        });
      }
      for (let i = 0; i < 200 && contents.length < sent.length; i++) await new Promise((r) => setTimeout(r, 25));
      assert.deepEqual(contents, sent);
      await manager.destroy();
    });
  }
});
