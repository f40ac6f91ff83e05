// The webserver under bad input and a failing Redis: clear 4xx, 503 within seconds, never 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { halfSentBody } from '../helpers/half-sent';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { type PrivateService, privateRedis } from '../helpers/private-services';
import { createTestDatabase, uniqueName } from '../helpers/services';

const SESSION_LIKE = 'session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'.slice(0, 'session='.length + 32);

describe('webserver: bad input and Redis outages', () => {
  let sim: Running;
  let web: Running;
  let simUrl: string;
  let api: string;
  let redisServer: PrivateService;
  let redis: Redis;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async () => {
    db = await createTestDatabase();
    redisServer = await privateRedis();
    await redisServer.start();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '1', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'discord_auth.allowed_redirects': [`${api}/auth/callback`], 'meta.redis_url': redisServer.url, 'meta.postgres_url': db.url,
      'meta.port': port, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_input'),
    });
    web = start(['webserver', '--config', path]);
    await web.waitFor(/webserver listening/);
  });

  after(async () => {
    redis?.disconnect();
    await web?.stop();
    await sim?.stop();
    await redisServer?.remove();
    await db?.drop();
  });

  it('answers malformed session cookies with 401 / a cleared cookie, never 500', async () => {
    for (const value of ['%', '%E0%A4%A', '%ZZ', '%C0%AF', '', '=', '\u00ff', 'a'.repeat(4000), '__proto__', 'constructor']) {
      const headers = { cookie: `session=${value}` };
      const me = await fetch(`${api}/auth/me`, { headers });
      assert.equal(me.status, 401, `GET /auth/me with session=${value.slice(0, 20)}`);
      assert.match(((await me.json()) as { error: string }).error, /not logged in/);
      const out = await fetch(`${api}/auth/logout`, { method: 'POST', headers });
      assert.equal(out.status, 200, `POST /auth/logout with session=${value.slice(0, 20)}`);
    }
  });

  it('stores nothing for an unauthenticated /auth/login (100 requests, no Redis key)', async () => {
    const before = await redis.keys('splashtail:web:*');
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${api}/auth/login`, { redirect: 'manual' });
      assert.equal(res.status, 302);
    }
    assert.deepEqual(await redis.keys('splashtail:web:*'), before);
    // A forged or altered state is refused before Discord is asked.
    const state = new URL((await fetch(`${api}/auth/login`, { redirect: 'manual' })).headers.get('location')!).searchParams.get('state')!;
    for (const bad of [`${state}x`, state.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'abc', '__proto__']) {
      const res = await fetch(`${api}/auth/callback?code=x&state=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
    }
    const twice = await fetch(`${api}/auth/callback?code=x&code=y&state=${state}&state=${state}`);
    assert.equal(twice.status, 400);
  });

  it('bounds limit on /clusters/actions (400 naming it, never 200 or 500)', async () => {
    for (const limit of ['-Infinity', 'Infinity', '1e400', 'NaN', '0', '-1', '1.5', '10001', 'abc', '']) {
      const res = await fetch(`${api}/clusters/actions?limit=${encodeURIComponent(limit)}`);
      assert.equal(res.status, 400, `limit=${limit}`);
      assert.match(((await res.json()) as { error: string }).error, /limit/);
    }
    assert.equal((await fetch(`${api}/clusters/actions?limit=5`)).status, 200);
  });

  it('cuts a half-sent request body within the request timeout (webserver and sim)', async () => {
    const [webCut, simCut] = await Promise.all([halfSentBody(api, '/auth/logout', 90_000), halfSentBody(simUrl, '/api/v10/channels/1/messages', 90_000)]);
    for (const cut of [webCut, simCut]) {
      assert.ok(cut.ms < 60_000, `closed after ${cut.ms} ms`);
      assert.match(cut.response, /^HTTP\/1.1 408/);
    }
  });

  it('answers 503 naming Redis within seconds while it hangs or is down, and recovers', async () => {
    const routes: [string, RequestInit][] = [
      ['/auth/me', { headers: { cookie: SESSION_LIKE } }],
      ['/auth/logout', { method: 'POST', headers: { cookie: SESSION_LIKE } }],
      ['/clusters/actions?limit=5', {}],
      ['/api/v1/users/@me', { headers: { cookie: SESSION_LIKE } }],
      ['/api/v1/users/@me/tokens', { method: 'POST', headers: { authorization: 'User st_x', 'content-type': 'application/json' }, body: '{"name":"x"}' }],
    ];
    const expect503 = async () => {
      for (const [path, init] of routes) {
        const started = Date.now();
        const res = await fetch(`${api}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
        assert.equal(res.status, 503, path);
        assert.match(((await res.json()) as { error: string }).error, /Redis is unavailable/);
        assert.ok(Date.now() - started < 10_000, `${path} took ${Date.now() - started} ms`);
      }
    };
    redisServer.pause();
    try {
      await expect503();
    } finally {
      redisServer.resume();
    }
    const me = async () => (await fetch(`${api}/auth/me`, { headers: { cookie: SESSION_LIKE } })).status;
    const waitStatus = async (want: number) => {
      const deadline = Date.now() + 30_000;
      while ((await me()) !== want) {
        if (Date.now() > deadline) throw new Error(`no ${want} from /auth/me within 30 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await waitStatus(401);
    await redisServer.stop();
    await expect503();
    await redisServer.start();
    await waitStatus(401);
    assert.equal(web.child.exitCode, null);
  });
});
