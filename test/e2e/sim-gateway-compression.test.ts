// Compression against a real client: @discordjs/ws with zlib-stream transport compression
// (node:zlib) and with IDENTIFY `compress: true`, each over 2 shards, checked on the wire.
import assert from 'node:assert/strict';
import { constants, inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { type GatewayDispatchPayload, GatewayIntentBits } from 'discord-api-types/v10';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { within } from '../helpers/deadline';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { type TappedConnection, WireTap } from '../helpers/wire-tap';

const ZLIB_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
type Frame = { op: number; t: string | null; d?: unknown };

/**
 * zlib-stream: every message binary, flushed (ends 00 00 ff ff), and inflating with one context
 * for the whole connection, each message completes exactly one more payload.
 */
function zlibStreamFrames(connection: TappedConnection): Frame[] {
  const frames: Frame[] = [];
  let inflated = '';
  for (const [i, m] of connection.messages.entries()) {
    assert.ok(m.binary, `message ${i} is binary`);
    assert.ok(m.data.subarray(-4).equals(ZLIB_SUFFIX), `message ${i} ends with the zlib flush suffix`);
    const text = inflateSync(Buffer.concat(connection.messages.slice(0, i + 1).map((x) => x.data)), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    assert.ok(text.startsWith(inflated), `message ${i} continues the stream`);
    frames.push(JSON.parse(text.slice(inflated.length)) as Frame);
    inflated = text;
  }
  return frames;
}

/** IDENTIFY compress: HELLO (before IDENTIFY) is text, then every message is deflated on its own. */
function identifyCompressFrames(connection: TappedConnection): Frame[] {
  return connection.messages.map((m, i) => {
    if (i === 0) {
      assert.ok(!m.binary, 'HELLO is text');
      return JSON.parse(m.data.toString()) as Frame;
    }
    assert.ok(m.binary, `message ${i} is binary`);
    return JSON.parse(inflateSync(m.data).toString()) as Frame;
  });
}

describe('@discordjs/ws with compression against the sim', () => {
  let sim: Running;
  let base: string;
  const managers: WebSocketManager[] = [];
  const taps: WireTap[] = [];

  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--shards', '2', '--guilds', '6', '--identify-interval-ms', '0', '--max-concurrency', '2']);
    base = /^sim listening on (\S+)/.exec(await sim.waitFor(/^sim listening on /))![1]!;
  });
  after(async () => {
    for (const m of managers) await within(Promise.resolve(m.destroy()), 10_000, 'manager destroy');
    for (const t of taps) await within(t.close(), 10_000, 'tap close');
    await sim?.stop();
  });

  const modes = [
    ['zlib-stream transport compression', { compression: CompressionMethod.ZlibNative }, zlibStreamFrames],
    ['IDENTIFY compress: true', { compression: null, useIdentifyCompression: true }, identifyCompressFrames],
  ] as const;
  for (const [name, options, decode] of modes) {
    it(`${name}: compressed on the wire; every GUILD_CREATE, then messages in order`, async (t) => {
      const guilds = (await (await fetch(`${base}/_sim/guilds`)).json()) as { id: string; channels: { id: string; name: string }[] }[];
      const tap = await WireTap.start(base);
      taps.push(tap);
      const manager = new WebSocketManager({
        token: DEFAULT_TOKEN,
        intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
        rest: new REST({ api: `${tap.url}/api` }).setToken(DEFAULT_TOKEN),
        shardCount: 2,
        ...options,
      });
      managers.push(manager);
      const created = new Set<string>();
      const contents: { s: number; content: string }[] = [];
      manager.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload) => {
        if (payload.t === 'GUILD_CREATE') created.add(payload.d.id);
        if (payload.t === 'MESSAGE_CREATE') contents.push({ s: payload.s, content: payload.d.content });
      });
      await manager.connect();
      for (const deadline = Date.now() + 30_000; created.size < guilds.length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
      assert.deepEqual([...created].sort(), guilds.map((g) => g.id).sort());

      const guild = guilds[0]!;
      const channel = guild.channels.find((c) => c.name === 'general')!;
      const sent = Array.from({ length: 20 }, (_, i) => `${name} ${i} ${'x'.repeat(i * 40)}`);
      for (const content of sent) {
        await fetch(`${base}/_sim/guilds/${guild.id}/channels/${channel.id}/messages`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
        });
      }
      for (const deadline = Date.now() + 10_000; contents.length < sent.length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
      // In sequence order. @discordjs/ws 2.0.4 inflates each IDENTIFY-compressed payload with the
      // async zlib.inflate, so a small payload can overtake a large one on its way to the listener:
      // the order the sim sent is checked by `s` there, and on the wire below.
      assert.deepEqual(contents.toSorted((a, b) => a.s - b.s).map((c) => c.content), sent);
      if (options.compression !== null) assert.deepEqual(contents.map((c) => c.content), sent, 'zlib-stream: delivered in order');
      await manager.destroy();
      managers.splice(managers.indexOf(manager), 1);

      // The wire: both shards' connections went through the tap, compressed as asked.
      assert.equal(tap.connections.length, 2);
      let wire = 0;
      let json = 0;
      const dispatched: string[] = [];
      const onWire: string[] = [];
      for (const connection of tap.connections) {
        assert.equal(connection.path.includes('compress=zlib-stream'), options.compression !== null, connection.path);
        const frames = decode(connection);
        assert.equal(frames[0]!.op, 10, 'HELLO first');
        dispatched.push(...frames.filter((f) => f.op === 0).map((f) => f.t!));
        onWire.push(...frames.filter((f) => f.t === 'MESSAGE_CREATE').map((f) => (f.d as { content: string }).content));
        wire += connection.messages.reduce((n, m) => n + m.data.length, 0);
        json += frames.reduce((n, f) => n + Buffer.byteLength(JSON.stringify(f)), 0);
      }
      assert.equal(dispatched.filter((t) => t === 'READY').length, 2);
      assert.equal(dispatched.filter((t) => t === 'GUILD_CREATE').length, guilds.length);
      assert.deepEqual(onWire, sent, 'the sim sent the messages in order');
      t.diagnostic(`${name}: ${wire} bytes on the wire for ${json} bytes of JSON (${((100 * wire) / json).toFixed(0)}%)`);
      assert.ok(wire < json * 0.6, `compressed: ${wire} wire bytes for ${json} JSON bytes`);
    });
  }
});
