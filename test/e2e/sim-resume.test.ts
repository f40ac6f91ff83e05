// @discordjs/ws with session info kept outside the shard: a dropped connection RESUMEs,
// and every event emitted while it was down arrives once, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import { type SessionInfo, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { type GatewayDispatchPayload, GatewayIntentBits } from 'discord-api-types/v10';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { freePort } from '../helpers/ports';
import { within } from '../helpers/deadline';
import { type Running, start } from '../helpers/process';

describe('@discordjs/ws resumes against the sim', () => {
  let sim: Running;
  let base: string;
  let manager: WebSocketManager;
  let second: WebSocketManager | undefined;
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const stats = async () => ((await (await fetch(`${base}/_sim/stats`)).json()) as { shards: Record<string, { identifies: number; resumes: number }> }).shards;

  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--heartbeat-interval-ms', '1000']);
    base = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  });
  after(async () => {
    await manager?.destroy();
    await second?.destroy();
    await sim?.stop();
  });

  /** One shard of @discordjs/ws with its session kept in memory, as a bot would keep it. */
  const newManager = () => {
    const sessions = new Map<number, SessionInfo | null>();
    return new WebSocketManager({
      token: DEFAULT_TOKEN,
      intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
      rest: new REST({ api: `${base}/api` }).setToken(DEFAULT_TOKEN),
      shardCount: 1,
      retrieveSessionInfo: (id) => sessions.get(id) ?? null,
      updateSessionInfo: (id, info) => void sessions.set(id, info),
    });
  };

  it('RESUMEs instead of IDENTIFYing and delivers the missed events once, in order', async () => {
    manager = newManager();
    const contents: string[] = [];
    let guild: { id: string; channels: { id: string; name: string }[] } | undefined;
    const ready = new Promise<void>((resolve) =>
      manager.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload) => {
        if (payload.t === 'GUILD_CREATE') {
          guild ??= payload.d as never;
          resolve();
        }
        if (payload.t === 'MESSAGE_CREATE') contents.push(payload.d.content);
      }),
    );
    const resumed = new Promise<void>((resolve) => manager.on(WebSocketShardEvents.Resumed, () => resolve()));
    await manager.connect();
    await within(ready, 30_000, 'GUILD_CREATE');
    const channel = guild!.channels.find((c) => c.name === 'general')!;
    const say = (content: string) => post(`/_sim/guilds/${guild!.id}/channels/${channel.id}/messages`, { content });

    await say('before 0');
    assert.deepEqual((await post('/_sim/shards/0/disconnect', {})) as { sessions: number }, { sessions: 1 });
    const missed = Array.from({ length: 50 }, (_, i) => `missed ${i}`);
    for (const content of missed) await say(content);
    await within(resumed, 30_000, 'RESUMED');
    await say('after 0');
    for (let i = 0; i < 100 && !contents.includes('after 0'); i++) await new Promise((r) => setTimeout(r, 50));

    assert.deepEqual(contents, ['before 0', ...missed, 'after 0']);
    const shard = (await stats())['0']!;
    assert.equal(shard.identifies, 1);
    assert.equal(shard.resumes, 1);
  });

  it('op 7 RECONNECT and op 9 INVALID_SESSION true also end in a RESUME with nothing lost', async () => {
    await manager.destroy();
    const start = (await stats())['0']!;
    second = newManager();
    const contents: string[] = [];
    let guild: { id: string; channels: { id: string; name: string }[] } | undefined;
    let resumedCount = 0;
    const ready = new Promise<void>((resolve) =>
      second!.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload) => {
        if (payload.t === 'GUILD_CREATE') {
          guild ??= payload.d as never;
          resolve();
        }
        if (payload.t === 'MESSAGE_CREATE') contents.push(payload.d.content);
      }),
    );
    second.on(WebSocketShardEvents.Resumed, () => resumedCount++);
    await second.connect();
    await within(ready, 30_000, 'GUILD_CREATE');
    const channel = guild!.channels.find((c) => c.name === 'general')!;
    const say = (content: string) => post(`/_sim/guilds/${guild!.id}/channels/${channel.id}/messages`, { content });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(cond());
    };

    const sent: string[] = [];
    for (const action of ['reconnect', 'invalid-session'] as const) {
      const before = resumedCount;
      await post(`/_sim/shards/0/${action}`, { resumable: true });
      for (let i = 0; i < 10; i++) {
        await say(`${action} ${i}`);
        sent.push(`${action} ${i}`);
      }
      await until(() => resumedCount === before + 1);
    }
    await say('done');
    await until(() => contents.includes('done'));
    assert.deepEqual(contents, [...sent, 'done']);
    const shard = (await stats())['0']!;
    assert.equal(shard.identifies, start.identifies + 1, 'one IDENTIFY for this manager, none after op 7/op 9');
    assert.equal(shard.resumes, start.resumes + 2);
  });
});
