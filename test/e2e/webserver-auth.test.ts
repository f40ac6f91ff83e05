// The website login through Discord OAuth2 (the sim's), and the status page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, runSync, start } from '../helpers/process';
import { Redis } from 'ioredis';
import { BOT_COMMANDS, createTestDatabase, REDIS_URL, uniqueName } from '../helpers/services';
import { DEFAULT_TOKEN } from '../../internal/sim/world';

describe('webserver login and status page', () => {
  let sim: Running;
  let web: Running;
  let simUrl: string;
  let api: string;
  let owner: string;
  let channel: string;
  let configPath: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async () => {
    db = await createTestDatabase();
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    owner = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { owner_id: string }[])[0]!.owner_id;
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    configPath = writeTestConfig({
      // Written with its prefix, as Discord's developer portal users often do: every client must send it once.
      'discord_auth.token': `Bot ${DEFAULT_TOKEN}`,
      'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'discord_auth.allowed_redirects': [`${api}/auth/callback`], 'sites.frontend': 'http://127.0.0.1:9/app',
      'meta.port': port, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': (channel = uniqueName('st_auth')),
    }).path;
    web = start(['webserver', '--config', configPath], { env: { BOOTSTRAP_COMMANDS: 'true' } });
    await web.waitFor(/webserver listening/);
  });

  after(async () => {
    await web?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('logs a user in through Discord OAuth2 and keeps a session', async () => {
    const login = await fetch(`${api}/auth/login`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    const authorize = new URL(login.headers.get('location')!);
    assert.equal(authorize.pathname, '/api/oauth2/authorize');
    authorize.searchParams.set('user_id', owner); // the sim's stand-in for clicking "Authorize" as that user
    const consent = await fetch(authorize, { redirect: 'manual' });
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    assert.equal(callback.status, 302);
    assert.equal(callback.headers.get('location'), 'http://127.0.0.1:9/app');
    const session = /session=([^;]+)/.exec(callback.headers.get('set-cookie')!)![1]!;
    const me = (await (await fetch(`${api}/auth/me`, { headers: { cookie: `session=${session}` } })).json()) as { id: string };
    assert.equal(me.id, owner);
    assert.equal((await fetch(`${api}/auth/me`)).status, 401);
    const replay = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    assert.equal(replay.status, 400, 'a state is used once');
    await fetch(`${api}/auth/logout`, { method: 'POST', headers: { cookie: `session=${session}` } });
    assert.equal((await fetch(`${api}/auth/me`, { headers: { cookie: `session=${session}` } })).status, 401);
  });

  it('registers the commands with a `Bot `-prefixed token in the config (BOOTSTRAP_COMMANDS)', async () => {
    const commands = (await (await fetch(`${simUrl}/_sim/commands`)).json()) as { global: { name: string }[] };
    assert.deepEqual(commands.global.map((c) => c.name).sort(), BOT_COMMANDS);
  });

  it('serves a status page of the clusters, the one cluster up', async () => {
    const deadline = Date.now() + 60_000;
    let page = '';
    while (Date.now() < deadline) {
      const res = await fetch(`${api}/status`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      page = await res.text();
      if (page.includes('<p>1 of 1 clusters up</p>')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(page, /<h1>splashtail status<\/h1><p>1 of 1 clusters up<\/p>/);
  });

  it('a token Discord refuses is a config error: exit 2, which systemd does not restart', () => {
    for (const [service, env] of [['webserver', {}], ['webserver', { BOOTSTRAP_COMMANDS: 'true' }], ['bot', {}]] as const) {
      const { code, stderr } = runSync([service, '--config', configPath], { env: { ...env, DISCORD_TOKEN: 'Bot not-the-token', SPLASHTAIL__META__PORT: '1' } });
      assert.equal(code, 2, `${service} ${JSON.stringify(env)}: ${stderr}`);
      assert.match(stderr, new RegExp(`^splashtail ${service}: discord_auth\\.token: Discord refused it \\(401 Unauthorized\\)`, 'm'));
      assert.doesNotMatch(stderr, /not-the-token/);
    }
  });

  it('IPC restartproc stops the clusters and exits non-zero (not 2), for systemd to restart it', async () => {
    // The test before blocked this process (spawnSync) past the server's keep-alive timeout, so
    // the pooled connection is closed without fetch having seen it: the first request uses it up.
    await fetch(`${api}/healthz`).catch(() => undefined);
    const pids = ((await (await fetch(`${api}/clusters`)).json()) as { clusters: { pid: number | null }[] }).clusters.map((c) => c.pid);
    assert.ok(pids.length === 1 && pids[0], 'the cluster runs');
    const redis = new Redis(REDIS_URL);
    try {
      await redis.publish(channel, JSON.stringify({ scope: 'launcher', action: 'restartproc', command_id: uniqueName('cmd') }));
    } finally {
      await redis.quit();
    }
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webserver still running 30 s after restartproc:\n${web.output().slice(-2000)}`)), 30_000);
      web.child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      if (web.child.exitCode !== null) resolve(web.child.exitCode);
    });
    assert.equal(code, 75);
    assert.throws(() => process.kill(pids[0]!, 0), 'the cluster process was stopped');
  });
});
