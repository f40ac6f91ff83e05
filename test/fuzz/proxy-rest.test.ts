// The proxy's REST entry under hostile input: paths stay inside the upstream's /api tree, only
// Discord's methods are forwarded, and 200+ generated requests never get a 5xx or a leak.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { discordRequests, simIds } from '../helpers/discord-fuzz';
import { hostileString } from '../helpers/fuzz';
import { assertRssWithin, describeFigures, fuzzSurface } from '../helpers/fuzz-run';
import { freePort } from '../helpers/ports';
import { waitUntil } from '../helpers/proxy-nodes';
import { type Running, start } from '../helpers/process';
import { rawRequest, wireSafe } from '../helpers/raw-http';
import { REDIS_URL, uniqueName } from '../helpers/services';
import { DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN } from '../../internal/sim/world';

describe('proxy REST entry: confinement and fuzz', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyUrl: string;
  let prefix: string;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--rest-limit', '1000000'], { env: { LOG_LEVEL: 'warn' } });
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    prefix = `${uniqueName('st_proxyfuzz')}:`;
    const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix });
    proxyUrl = `http://127.0.0.1:${port}`;
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
    // Its own upstream session moves the sim's stats: let it settle before comparing them.
    await waitUntil('the proxy shard is Ready', async () => {
      const { shards } = (await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { status: string }[] };
      return shards.length === 1 && shards[0]!.status === 'Ready';
    }, 60_000);
  });

  after(async () => {
    await proxy?.stop();
    await sim?.stop();
    const redis = new Redis(REDIS_URL);
    await redis.del(`${prefix}sessions`);
    await redis.quit();
  });

  it('never forwards outside the upstream /api tree (dot segments, encoded or not)', async () => {
    const users = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as unknown);
    const before = JSON.stringify(await users());
    const escapes = ['/api/../_sim/stats', '/api/%2e%2e/_sim/stats', '/api/.%2E/_sim/stats', '/api/v10/../../_sim/stats', '/api/..\\_sim/stats', '/api/v10/%2E%2E/%2e%2e/_sim/guilds', '/api/..', '/api/.'];
    for (const path of escapes) {
      const res = await rawRequest(proxyUrl, { path });
      assert.equal(res.status, 404, `${path}: ${res.body.slice(0, 200)}`);
      assert.doesNotMatch(res.body, /"shards"|owner_id/, path);
    }
    const created = await rawRequest(proxyUrl, { method: 'POST', path: '/api/../_sim/users', headers: { 'content-type': 'application/json' }, body: '{"username":"escaped"}' });
    assert.equal(created.status, 404);
    assert.equal(JSON.stringify(await users()), before);
    // Inside the tree, dot segments resolve as a browser would and the request is forwarded.
    const inside = await rawRequest(proxyUrl, { path: '/api/v10/guilds/../users/@me', headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
    assert.equal(inside.status, 200);
  });

  it("forwards only Discord's methods (TRACE and others: 405)", async () => {
    for (const method of ['TRACE', 'OPTIONS', 'HEAD']) {
      const res = await rawRequest(proxyUrl, { method, path: '/api/v10/users/@me', headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
      assert.equal(res.status, 405, method);
    }
    // Methods fastify does not route at all are not forwarded either.
    for (const method of ['PROPFIND', 'SEARCH']) assert.equal((await rawRequest(proxyUrl, { method, path: '/api/v10/users/@me' })).status, 404, method);
    assert.equal((await rawRequest(proxyUrl, { method: 'GET', path: '/api/v10/users/@me', headers: { authorization: `Bot ${DEFAULT_TOKEN}` } })).status, 200);
  });

  it('answers 200+ generated requests with < 500 and no leak; same process, flat memory, still forwarding', async (t) => {
    const ids = await simIds(simUrl);
    const pid = proxy.child.pid!;
    const escape = fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'OPTIONS'), fc.array(fc.oneof(fc.constantFrom('..', '%2e%2e', '.%2E', '_sim', 'stats', 'users', '\\..'), hostileString.map(wireSafe)), { maxLength: 5 }))
      .map(([method, parts]) => ({ method, path: `/api/${parts.join('/')}`, headers: { authorization: `Bot ${DEFAULT_TOKEN}` } as Record<string, string>, body: undefined }));
    const figures = await fuzzSurface({
      pid,
      input: fc.oneof({ weight: 3, arbitrary: discordRequests(ids, DEFAULT_TOKEN) }, { weight: 1, arbitrary: escape }),
      send: (r) => rawRequest(proxyUrl, r),
      secrets: [DEFAULT_TOKEN, DEFAULT_CLIENT_SECRET],
    });
    t.diagnostic(describeFigures('proxy REST', figures));
    assert.equal(proxy.child.exitCode, null);
    assert.equal(proxy.child.pid, pid);
    assertRssWithin(figures);
    const res = await fetch(`${proxyUrl}/api/v10/guilds/${ids.guild}/channels`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } });
    assert.equal(res.status, 200);
  });
});
