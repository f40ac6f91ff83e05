// Issue #18: when the proxy's upstream session is replaced by a fresh IDENTIFY, bots are
// brought to the new truth: no READY from stale persisted state, GUILD_DELETE for the guilds
// the shard no longer holds, then op 9 so the library IDENTIFYs and gets the new READY.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, ROOT, start, startScript } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

type SimGuild = { id: string; shard: number; channels: { id: string; name: string }[] };
type ShardStats = Record<string, { identifies: number; resumes: number }>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SHARD = 0;

describe('proxy: a fresh upstream IDENTIFY brings bots to the new truth (#18)', () => {
  let simPort: number;
  let simUrl: string;
  let sim: Running;
  let proxy: Running;
  let bot: Running | undefined;
  let proxyUrl: string;
  let configPath: string;
  let prefix: string;
  const clients: RawGatewayClient[] = [];

  const startSim = async () => {
    const s = start(['sim', '--port', String(simPort), '--shards', '2', '--guilds', '6', '--max-concurrency', '2', '--identify-interval-ms', '100', '--seed', '7']);
    simUrl = (await s.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    return s;
  };
  const startProxy = async () => {
    const p = start(['proxy', '--config', configPath]);
    await p.waitFor(/"msg":"proxy listening/);
    return p;
  };
  const simGuilds = async () => (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[];
  const shardGuildIds = async (shard = SHARD) => (await simGuilds()).filter((g) => g.shard === shard).map((g) => g.id).sort();
  const stats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: ShardStats }).shards;
  const waitUntil = async (what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await Promise.resolve().then(fn).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}\nproxy:\n${proxy.output().slice(-3000)}\nbot:\n${bot?.output().slice(-2000)}`);
      await sleep(100);
    }
  };
  const shardsReady = async () => {
    const body = (await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] };
    return body.shards.length === 2 && body.shards.every((s) => s.status === 'Ready');
  };
  /** Adds guilds through the sim until `count` new ones landed on SHARD. */
  const addGuilds = async (count: number) => {
    const added: string[] = [];
    for (let i = 0; added.length < count && i < 200; i++) {
      const res = await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `extra ${i}` }) });
      const g = (await res.json()) as { id: string; shard: number };
      if (g.shard === SHARD) added.push(g.id);
      else await sleep(3); // another millisecond, another shard
    }
    assert.equal(added.length, count);
    return added;
  };
  const say = async (content: string) => {
    const g = (await simGuilds()).find((x) => x.shard === SHARD)!;
    const res = await fetch(`${simUrl}/_sim/guilds/${g.id}/channels/${g.channels.find((c) => c.name === 'general')!.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
    });
    assert.equal(res.status, 200);
  };
  const rawClient = () => {
    const c = new RawGatewayClient(proxyUrl.replace('http', 'ws'));
    clients.push(c);
    return c;
  };
  const botGuilds = () => bot!.output().split('\n').filter((l) => l.startsWith('GUILDS ')).at(-1)?.slice(7).split(',').filter(Boolean) ?? [];

  before(async () => {
    simPort = await freePort();
    sim = await startSim();
    prefix = `${uniqueName('st_reid')}:`;
    const port = await freePort();
    configPath = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix }).path;
    proxyUrl = `http://127.0.0.1:${port}`;
    proxy = await startProxy();
    await waitUntil('upstream shards ready', shardsReady);
  });

  after(async () => {
    for (const c of clients) c.terminate();
    await bot?.stop('SIGKILL');
    await proxy?.stop('SIGKILL');
    await sim?.stop('SIGKILL');
    await dropRedisKeys(prefix);
  });

  it('after a restart whose RESUME is refused, an early IDENTIFY gets the READY of the new session only', async () => {
    const original = await shardGuildIds();
    const added = await addGuilds(4);
    await waitUntil('the proxy holds the new guilds', async () => {
      const body = (await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { shard: number; guilds: number }[] };
      return body.shards.find((s) => s.shard === SHARD)!.guilds === original.length + added.length;
    });
    await sleep(600); // the guild state is persisted once per tick
    assert.equal(await proxy.stop('SIGTERM'), 0);
    await sim.stop('SIGKILL');

    sim = await startSim(); // same seed: the added guilds are gone
    assert.deepEqual(await shardGuildIds(), original);
    proxy = await startProxy();
    const client = rawClient();
    await client.next((f) => f.op === 10);
    client.identify(DEFAULT_TOKEN, { shard: [SHARD, 2] });
    const ready = await client.dispatch('READY', 60_000);
    assert.deepEqual((ready.d.guilds as { id: string }[]).map((g) => g.id).sort(), original, 'READY lists the guilds the shard holds now');
    const creates = () => client.frames.filter((f) => f.t === 'GUILD_CREATE').map((f) => f.d.id as string);
    await waitUntil('GUILD_CREATE for every guild', () => original.every((id) => creates().includes(id)));
    assert.deepEqual(creates().filter((id) => added.includes(id)), []);

    await say('after the new READY');
    const msg = await client.dispatch('MESSAGE_CREATE', 30_000);
    assert.equal(msg.d.content, 'after the new READY');
    assert.equal((await stats())[String(SHARD)]!.identifies, 1, 'one upstream IDENTIFY for the shard');
    client.close();
  });

  it('sessions of a re-identified shard get GUILD_DELETE for gone guilds, then op 9; discord.js ends with the new guilds', async () => {
    await waitUntil('upstream shards ready', shardsReady);
    bot = startScript(`${ROOT}/test/fixtures/discordjs-bot.ts`, [`${proxyUrl}/api`]);
    await bot.waitFor(/^READY$/, 60_000);
    const raw = rawClient();
    await raw.next((f) => f.op === 10);
    raw.identify(DEFAULT_TOKEN, { shard: [SHARD, 2] });
    await raw.dispatch('READY', 60_000);

    const original = (await simGuilds()).map((g) => g.id).sort();
    const added = await addGuilds(4);
    const grown = (await simGuilds()).map((g) => g.id).sort().join(); // guilds landed on both shards
    await waitUntil('discord.js holds the added guilds', () => botGuilds().join() === grown);
    await waitUntil('the raw client got the added guilds', () => added.every((id) => raw.frames.some((f) => f.t === 'GUILD_CREATE' && f.d.id === id)));

    // Discord forgets the proxy's sessions and the guilds: a new sim, same seed, same port.
    await sim.stop('SIGKILL');
    sim = await startSim();

    const invalid = await raw.next((f) => f.op === 9, 60_000);
    assert.equal(invalid.d, false);
    const deletes = raw.frames.filter((f) => f.t === 'GUILD_DELETE');
    assert.deepEqual(deletes.map((f) => f.d.id as string).sort(), [...added].sort());
    for (const f of deletes) assert.equal(f.d.unavailable, undefined);
    assert.ok(raw.frames.indexOf(deletes.at(-1)!) < raw.frames.indexOf(invalid), 'GUILD_DELETEs come before op 9');

    await waitUntil('discord.js holds exactly the new world\'s guilds', () => botGuilds().join() === original.join());
    await say('after the upstream re-identified');
    await waitUntil('discord.js gets events again', () => bot!.output().includes('MSG after the upstream re-identified'));

    raw.identify(DEFAULT_TOKEN, { shard: [SHARD, 2] });
    const ready = await raw.next((f) => f.t === 'READY' && raw.frames.indexOf(f) > raw.frames.indexOf(invalid), 30_000);
    assert.deepEqual((ready.d.guilds as { id: string }[]).map((g) => g.id).sort(), await shardGuildIds());

    const s = await stats();
    assert.equal(s['0']!.identifies, 1, 'shard 0: one upstream IDENTIFY');
    assert.equal(s['1']!.identifies, 1, 'shard 1: one upstream IDENTIFY');
  });

  it('events kept while no bot held the shard belonged to the old upstream session: a new IDENTIFY does not get them', async () => {
    await bot!.stop('SIGKILL');
    bot = undefined;
    for (const c of clients) c.close();
    await waitUntil('no bot holds a shard', async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { downstream: { connected: number } }).downstream.connected === 0);
    await say('kept for the old session');
    await waitUntil('the proxy kept it', async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { downstream: { buffered: number } }).downstream.buffered > 0);

    await sim.stop('SIGKILL');
    sim = await startSim();
    await waitUntil('shard re-identified upstream', async () => (await stats())[String(SHARD)]!.identifies === 1);
    await waitUntil('upstream shards ready', shardsReady);

    const client = rawClient();
    await client.next((f) => f.op === 10);
    client.identify(DEFAULT_TOKEN, { shard: [SHARD, 2] });
    await client.dispatch('READY', 60_000);
    await say('for the new session');
    const msg = await client.dispatch('MESSAGE_CREATE', 30_000);
    assert.equal(msg.d.content, 'for the new session', 'the old session\'s event was not replayed');
    client.close();
  });
});
