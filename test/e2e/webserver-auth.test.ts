// The website login through Discord OAuth2 (the sim's), and the status page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { uniqueName } from '../helpers/services';

describe('webserver login and status page', () => {
  let sim: Running;
  let web: Running;
  let simUrl: string;
  let api: string;
  let owner: string;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    owner = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { owner_id: string }[])[0]!.owner_id;
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'discord_auth.allowed_redirects': [`${api}/auth/callback`], 'sites.frontend': 'http://127.0.0.1:9/app',
      'meta.port': port, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_auth'),
    });
    web = start(['webserver', '--config', path]);
    await web.waitFor(/webserver listening/);
  });

  after(async () => {
    await web?.stop();
    await sim?.stop();
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

  it('serves a status page of the clusters', async () => {
    const res = await fetch(`${api}/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    assert.match(await res.text(), /<h1>splashtail status<\/h1><p>\d+ of 1 clusters up<\/p>/);
  });
});
