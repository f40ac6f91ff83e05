// Issue #11: an unmodified discord.js bot behind a balancer (the round-robin relay) keeps its
// session across a kill -9 and restart of the proxy: it RESUMEs (no second READY) and gets
// every event the sim sent, once, in order, with seq running on. The truth is a client
// connected straight to the sim with the bot's intents.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTcpRelay, type TcpRelay } from '../../internal/net/tcp-relay';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { ROOT, type Running, start, startScript } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';
import { assertRunOf } from '../helpers/event-run';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTENTS = 1 | 512 | 32768; // the fixture's: Guilds, GuildMessages, MessageContent
const PER_SESSION = new Set(['READY', 'RESUMED', 'GUILD_CREATE']);

describe('discord.js through a balancer keeps its session across a proxy kill -9 (#11)', () => {
  let sim: Running;
  let proxy: Running;
  let bot: Running | undefined;
  let relay: TcpRelay;
  let truth: RawGatewayClient;
  let configPath: string;
  let prefix: string;

  const startProxy = async () => {
    const p = start(['proxy', '--config', configPath]);
    await p.waitFor(/"msg":"proxy listening/);
    return p;
  };
  const events = () => bot!.output().split('\n').filter((l) => l.startsWith('EV ')).map((l) => {
    const [, s, t, hash] = l.split(' ');
    return { s: Number(s), t: t!, hash: hash! };
  });
  const loadEvents = () => events().filter((e) => !PER_SESSION.has(e.t)).map((e) => `${e.t} ${e.hash}`);

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '0', '--seed', '12', '--rate', '150']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    truth = new RawGatewayClient(simUrl.replace('http', 'ws')).heartbeat();
    await truth.next((f) => f.op === 10);
    truth.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: INTENTS });
    await truth.dispatch('READY');
    const [proxyPort, relayPort] = [await freePort(), await freePort()];
    prefix = `${uniqueName('st_resume_djs')}:`;
    // Bots are given the balancer's URL (READY's resume_gateway_url and /gateway/bot).
    configPath = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': proxyPort, 'proxy.url': `ws://127.0.0.1:${relayPort}`, 'proxy.session_key_prefix': prefix }).path;
    relay = await startTcpRelay({ port: relayPort, backends: [{ host: '127.0.0.1', port: proxyPort }] });
    proxy = await startProxy();
  });

  after(async () => {
    await bot?.stop('SIGKILL');
    truth?.terminate();
    await relay?.close();
    await proxy?.stop('SIGKILL');
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('RESUMEs after kill -9 and restart: no second READY, seq runs on, every event once, in order', async () => {
    bot = startScript(`${ROOT}/test/fixtures/discordjs-seq-bot.ts`, [`http://127.0.0.1:${relay.port}/api`]);
    await waitUntil('events flow to the bot', () => loadEvents().length >= 100);
    await proxy.stop('SIGKILL');
    const beforeKill = loadEvents().length;
    await sleep(500); // the load goes on while the proxy is down
    proxy = await startProxy();
    await waitUntil('the bot RESUMEd', () => events().some((e) => e.t === 'RESUMED'));
    await waitUntil('events flow again', () => loadEvents().length >= beforeKill + 100);

    const all = events();
    assert.equal(all.filter((e) => e.t === 'READY').length, 1, 'the bot never IDENTIFYed again');
    assert.deepEqual(all.map((e) => e.s), Array.from({ length: all.length }, (_, i) => i + 1), 'seq runs 1..n with no gap and no repeat');
    const got = loadEvents();
    const key = (f: { t: string | null; d: unknown }) => `${f.t} ${createHash('sha1').update(JSON.stringify(f.d)).digest('hex')}`;
    const sentNow = () => truth.frames.filter((f) => f.op === 0 && !PER_SESSION.has(f.t!)).map(key);
    await waitUntil('the direct client caught up', () => sentNow().includes(got.at(-1)!));
    assertRunOf(got, sentNow(), 'the bot');
  });
});
