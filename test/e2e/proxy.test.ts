// The gateway proxy between the sim and an unmodified discord.js bot: restarts of the bot and
// of the proxy lose no event and cost no upstream IDENTIFY.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, ROOT, start, startScript } from '../helpers/process';
import { REDIS_URL, uniqueName } from '../helpers/services';

type ShardStats = Record<string, { identifies: number; resumes: number }>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway proxy (sim -> proxy -> discord.js)', () => {
  let sim: Running;
  let proxy: Running;
  let bot: Running | undefined;
  let simUrl: string;
  let proxyUrl: string;
  let configPath: string;
  let prefix: string;
  let guild: { id: string; channels: { id: string; name: string }[] };

  const stats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { shards: ShardStats }).shards;
  const say = (content: string) =>
    fetch(`${simUrl}/_sim/guilds/${guild.id}/channels/${guild.channels.find((c) => c.name === 'general')!.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
    }).then((r) => assert.equal(r.status, 200));
  const messages = (run: Running) => run.output().split('\n').filter((l) => l.startsWith('MSG ')).map((l) => l.slice(4));
  const startProxy = async () => {
    const p = start(['proxy', '--config', configPath]);
    await p.waitFor(/"msg":"proxy listening/);
    return p;
  };
  const waitUntil = async (what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}\nproxy:\n${proxy.output().slice(-2000)}\nbot:\n${bot?.output().slice(-2000)}`);
      await sleep(100);
    }
  };
  const allShardsReady = async () => {
    const body = (await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] };
    return body.shards.length === 4 && body.shards.every((s) => s.status === 'Ready');
  };

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '4', '--guilds', '8', '--max-concurrency', '4', '--identify-interval-ms', '200', '--seed', '5']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as (typeof guild)[];
    guild = guilds[0]!;
    const port = await freePort();
    prefix = `${uniqueName('st_proxy')}:`;
    configPath = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix }).path;
    proxyUrl = `http://127.0.0.1:${port}`;
    proxy = await startProxy();
    await waitUntil('all upstream shards ready', allShardsReady);
  });

  after(async () => {
    await bot?.stop('SIGKILL');
    await proxy?.stop();
    await sim?.stop();
    const redis = new Redis(REDIS_URL);
    await redis.del(`${prefix}sessions`);
    await redis.quit();
  });

  it('serves /gateway/bot with its own URL and forwards other REST calls unchanged', async () => {
    const gw = (await (await fetch(`${proxyUrl}/api/v10/gateway/bot`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } })).json()) as { url: string; shards: number };
    assert.equal(gw.url, proxyUrl.replace('http', 'ws'));
    assert.equal(gw.shards, 4);
    const direct = await fetch(`${simUrl}/api/v10/guilds/${guild.id}`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
    const forwarded = await fetch(`${proxyUrl}/api/v10/guilds/${guild.id}`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
    assert.equal(forwarded.status, 200);
    assert.deepEqual(await forwarded.json(), await direct.json());
    assert.ok(forwarded.headers.get('x-ratelimit-bucket'));
    const missing = await fetch(`${proxyUrl}/api/v10/channels/1`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: number }).code, 10003);
  });

  it('a killed bot restarts without an upstream IDENTIFY and gets all 500 events once, in order', async () => {
    bot = startScript(`${ROOT}/test/fixtures/discordjs-bot.ts`, [`${proxyUrl}/api`]);
    await bot.waitFor(/^READY$/, 30_000);
    await say('warm-up');
    await waitUntil('warm-up seen', () => messages(bot!).includes('warm-up'));
    const before = await stats();
    await bot.stop('SIGKILL');
    // Events written to a connection before the proxy sees it die are only recoverable by RESUME.
    await waitUntil('the proxy saw the bot go', async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { downstream: { connected: number } }).downstream.connected === 0);

    const sent = Array.from({ length: 500 }, (_, i) => `event ${i}`);
    for (const content of sent) await say(content);

    bot = startScript(`${ROOT}/test/fixtures/discordjs-bot.ts`, [`${proxyUrl}/api`]);
    await bot.waitFor(/^READY$/, 30_000);
    const received = () => messages(bot!).filter((m) => m.startsWith('event '));
    await waitUntil('500 events delivered', () => received().length >= 500);
    await sleep(300);
    assert.deepEqual(received(), sent);
    const afterStats = await stats();
    for (const shard of Object.keys(before)) assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies, `shard ${shard} re-identified upstream`);
  });

  it('a killed proxy RESUMEs every shard upstream and the bot carries on', async () => {
    const before = await stats();
    await sleep(400); // one persistence tick after the last events
    await proxy.stop('SIGKILL');
    await say('while the proxy was down');
    proxy = await startProxy();
    await waitUntil('all upstream shards ready again', allShardsReady);
    const afterStats = await stats();
    for (const shard of Object.keys(before)) {
      assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies, `shard ${shard} identified instead of resuming`);
      assert.equal(afterStats[shard]!.resumes, before[shard]!.resumes + 1, `shard ${shard} did not resume`);
    }
    await waitUntil('the bot got the message sent while the proxy was down', () => messages(bot!).includes('while the proxy was down'));
    await say('after the proxy restart');
    await waitUntil('the bot carries on', () => messages(bot!).includes('after the proxy restart'));
  });

  it('an INVALID_SESSION on one shard re-identifies that shard only', async () => {
    const before = await stats();
    const res = await fetch(`${simUrl}/_sim/shards/1/invalid-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resumable":false}' });
    assert.equal(((await res.json()) as { sessions: number }).sessions, 1);
    await waitUntil('shard 1 identified again', async () => (await stats())['1']!.identifies === before['1']!.identifies + 1);
    await sleep(500);
    const afterStats = await stats();
    for (const shard of ['0', '2', '3']) assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies);
  });

  it('saves memory while a READY fills the guild state, and stops once every shard is Ready', async () => {
    const saving = async () => /^proxy_memory_saving_mode(\{[^}]*\})? 1$/m.test(await (await fetch(`${proxyUrl}/metrics`)).text());
    await waitUntil('memory-saving mode off after the start', async () => !(await saving()));
    await fetch(`${simUrl}/_sim/shards/2/invalid-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resumable":false}' });
    await waitUntil('memory-saving mode on for the new READY', saving);
    await waitUntil('memory-saving mode off once shard 2 is Ready again', async () => !(await saving()) && (await allShardsReady()));
  });

  it('answers downstream protocol errors with Discord close codes; other sessions are untouched', async () => {
    const ws = proxyUrl.replace('http', 'ws');
    const cases: [string, (c: RawGatewayClient) => void, number][] = [
      ['bad token', (c) => c.identify('nope', { shard: [0, 4] }), 4004],
      ['wrong shard count', (c) => c.identify(DEFAULT_TOKEN, { shard: [0, 2] }), 4011],
      ['shard out of range', (c) => c.identify(DEFAULT_TOKEN, { shard: [7, 4] }), 4010],
      ['malformed frame', (c) => c.send('{{{'), 4002],
      ['unknown opcode', (c) => c.send({ op: 42, d: null }), 4001],
      ['fractional intents', (c) => c.identify(DEFAULT_TOKEN, { shard: [0, 4], intents: 1.5 }), 4013],
      ['intents past every bit', (c) => c.identify(DEFAULT_TOKEN, { shard: [0, 4], intents: 2 ** 53 }), 4013],
      ['properties null', (c) => c.identify(DEFAULT_TOKEN, { shard: [0, 4], properties: null }), 4002],
      ['a 100 KB frame', (c) => c.send({ op: 3, d: { pad: 'x'.repeat(100_000) } }), 4002],
      ['resume with seq 0.5', (c) => c.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: 'x', seq: 0.5 } }), 4002],
    ];
    for (const [name, act, code] of cases) {
      const c = new RawGatewayClient(ws);
      await c.next((f) => f.op === 10);
      act(c);
      assert.equal((await c.closed).code, code, name);
    }
    // The sessions of a shard share its upstream send budget (110 a minute): with the bot and a
    // quiet peer on shard 3, 60 sends are past the flooder's share, though under the 120 a
    // connection may send; the quiet peer's share is untouched.
    const [flooder, quiet] = [new RawGatewayClient(ws), new RawGatewayClient(ws)];
    for (const c of [flooder, quiet]) {
      await c.next((f) => f.op === 10);
      c.identify(DEFAULT_TOKEN, { shard: [3, 4] });
      await c.dispatch('READY');
    }
    const presence = { op: 3, d: { since: null, activities: [], status: 'online', afk: false } };
    for (let i = 0; i < 60; i++) flooder.send(presence);
    const flooded = await Promise.race([flooder.closed, sleep(5_000).then(() => ({ code: 0 }))]);
    assert.equal(flooded.code, 4008, 'past its fair share of the shard budget');
    for (let i = 0; i < 10; i++) quiet.send(presence);
    assert.equal(await Promise.race([quiet.closed.then((c) => c.code), sleep(1_000).then(() => 'open')]), 'open');
    quiet.close();

    await say('still here');
    await waitUntil('the bot is untouched', () => messages(bot!).includes('still here'));
  });

  it('sends member chunks only to the session that asked, with its own nonce', async () => {
    const ws = proxyUrl.replace('http', 'ws');
    const [asker, other] = [new RawGatewayClient(ws), new RawGatewayClient(ws)];
    const shard = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[]).find((g) => g.id === guild.id)!.shard;
    for (const c of [asker, other]) {
      await c.next((f) => f.op === 10);
      c.identify(DEFAULT_TOKEN, { shard: [shard, 4], intents: 1 | 2 });
      await c.dispatch('READY');
    }
    asker.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'mine' } });
    const chunk = await asker.dispatch('GUILD_MEMBERS_CHUNK');
    assert.equal(chunk.d.nonce, 'mine');
    assert.ok(chunk.d.members.length > 0);
    // Again within 30 s: Discord answers RATE_LIMITED (meta.nonce), to the asker only.
    asker.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'again' } });
    const limited = await asker.dispatch('RATE_LIMITED');
    assert.equal(limited.d.opcode, 8);
    assert.deepEqual(limited.d.meta, { guild_id: guild.id, nonce: 'again' });
    await sleep(500);
    assert.equal(other.frames.filter((f) => f.t === 'GUILD_MEMBERS_CHUNK' || f.t === 'RATE_LIMITED').length, 0);
    // A guild of another shard: Discord ignores it, and the proxy keeps nothing for it.
    const elsewhere = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[]).find((g) => g.shard !== shard)!;
    asker.send({ op: 8, d: { guild_id: elsewhere.id, user_ids: ['1'], nonce: 'elsewhere' } });
    await sleep(500);
    const pending = ((await (await fetch(`${proxyUrl}/shards`)).json()) as { downstream: { member_requests: number } }).downstream.member_requests;
    assert.equal(pending, 0, 'no member request is left waiting for an answer');
    asker.close();
    other.close();
  });

  it('SIGTERM exits 0 and the next start RESUMEs every shard', async () => {
    const before = await stats();
    assert.equal(await proxy.stop('SIGTERM'), 0);
    proxy = await startProxy();
    await waitUntil('all upstream shards ready again', allShardsReady);
    const afterStats = await stats();
    for (const shard of Object.keys(before)) {
      assert.equal(afterStats[shard]!.identifies, before[shard]!.identifies, `shard ${shard} identified`);
      assert.equal(afterStats[shard]!.resumes, before[shard]!.resumes + 1, `shard ${shard} did not resume`);
    }
  });
});
