// GUILD_CREATEs are rendered from the proxy's guild state for each bot session, never passed on
// raw: the first bot after a start gets each guild once (not again from the missed buffer), a
// guild the bot joins while connected comes trimmed for the session's intents as Discord trims
// it, and a RESUME replays that GUILD_CREATE the same way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GatewayIntentBits } from '../../internal/gateway/protocol';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

const PROXY_INTENTS = 3276799;
/** No GUILD_MEMBERS, no GUILD_PRESENCES: Discord sends such a bot only its own member and no presence. */
const BOT_INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Guild = Record<string, unknown> & { id: string };

/** Lists sorted by id: their order is not part of Discord's contract. */
function normalized(guild: Guild): Guild {
  const key = (e: Record<string, unknown>) => String(e.id ?? e.user_id ?? (e.user as { id?: string } | undefined)?.id);
  const out: Guild = { ...guild };
  for (const [k, v] of Object.entries(out)) {
    if (Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null)) out[k] = [...v].sort((a, b) => key(a).localeCompare(key(b)));
  }
  return out;
}

async function connect(url: string): Promise<RawGatewayClient> {
  const client = new RawGatewayClient(url);
  await client.next((f) => f.op === 10);
  client.heartbeat();
  return client;
}

/** IDENTIFYs until READY: one over the sim's identify rate limit gets op 9, then tries again. */
async function identify(client: RawGatewayClient): Promise<RawFrame> {
  for (let seen = 0; ; ) {
    client.identify(DEFAULT_TOKEN, { intents: BOT_INTENTS, shard: [0, 1] });
    const frame = await client.next((f) => f.t === 'READY' || (f.op === 9 && client.frames.indexOf(f) >= seen), 60_000);
    if (frame.op === 0) return frame;
    seen = client.frames.indexOf(frame) + 1;
    await sleep(1_000);
  }
}

describe('GUILD_CREATEs rendered from the guild state', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyWs: string;
  let prefix: string;
  const clients: RawGatewayClient[] = [];
  let guilds: { id: string; channels: { id: string; name: string }[] }[];

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${simUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(res.status < 300, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as { id: string };
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '100', '--seed', '5']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as typeof guilds;
    const port = await freePort();
    prefix = `${uniqueName('st_render')}:`;
    const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix, 'proxy.intents': PROXY_INTENTS });
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    proxyWs = `ws://127.0.0.1:${port}`;
    for (;;) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/shards`)).json()) as { shards: { status: string }[] };
      if (body.shards.length === 1 && body.shards[0]!.status === 'Ready') break;
      await sleep(100);
    }
  });

  after(async () => {
    for (const c of clients) c.terminate();
    await proxy?.stop();
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('the first bot gets each guild once, then what it missed; a guild joined live and replayed on RESUME is trimmed as Discord trims it', async () => {
    // Sent while no bot is connected: kept for the first bot, after its GUILD_CREATEs.
    const general = guilds[0]!.channels.find((c) => c.name === 'general')!;
    await post(`/_sim/guilds/${guilds[0]!.id}/channels/${general.id}/messages`, { content: 'while nobody listened' });
    const bot = await connect(proxyWs);
    clients.push(bot);
    await identify(bot);
    await bot.next((f) => f.t === 'MESSAGE_CREATE' && f.d.content === 'while nobody listened', 30_000);
    const creates = bot.frames.filter((f) => f.t === 'GUILD_CREATE').map((f) => f.d.id as string);
    assert.deepEqual([...creates].sort(), guilds.map((g) => g.id).sort(), 'one GUILD_CREATE per guild');

    const joined = await post('/_sim/guilds', { name: 'Joined live', populated: true });
    const live = await bot.next((f) => f.t === 'GUILD_CREATE' && f.d.id === joined.id, 30_000);
    // The same bot identifying straight on the sim: what Discord sends it for that guild.
    const direct = await connect(simUrl.replace('http', 'ws'));
    clients.push(direct);
    await identify(direct);
    const want = normalized((await direct.next((f) => f.t === 'GUILD_CREATE' && f.d.id === joined.id, 30_000)).d as Guild);
    assert.deepStrictEqual(normalized(live.d as Guild), want, 'live GUILD_CREATE through the proxy vs the sim');
    // What the proxy itself got (all its intents) holds more: the comparison can tell them apart.
    const held = ((await (await fetch(`${simUrl}/_sim/guilds/${joined.id}/state`)).json()) as { members: unknown[] }).members.length;
    assert.ok(held > (want.members as unknown[]).length, `the joined guild has ${held} members, the bot is sent ${(want.members as unknown[]).length}`);

    // RESUME from before the join: the GUILD_CREATE comes again, rendered for the session.
    const sessionId = (bot.frames.find((f) => f.t === 'READY')!.d.session_id as string);
    bot.terminate();
    const again = await connect(proxyWs);
    clients.push(again);
    again.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq: live.s! - 1 } });
    const replayed = await again.next((f) => f.t === 'GUILD_CREATE' && f.d.id === joined.id, 30_000);
    assert.equal(replayed.s, live.s);
    assert.deepStrictEqual(normalized(replayed.d as Guild), want, 'replayed GUILD_CREATE vs the sim');
  });
});
