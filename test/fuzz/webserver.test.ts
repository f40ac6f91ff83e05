// The webserver (API, OAuth2 login, status page) under 200+ generated requests: hostile paths,
// queries, cookies and bodies; never a 5xx or a leak, the same process and flat memory after.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { writeTestConfig } from '../helpers/config';
import { deeplyNested, hostileJson, hostileString } from '../helpers/fuzz';
import { assertRssWithin, describeFigures, fuzzSurface } from '../helpers/fuzz-run';
import { freePort } from '../helpers/ports';
import { ROOT, type Running, start } from '../helpers/process';
import { rawRequest, wireSafe } from '../helpers/raw-http';
import { uniqueName } from '../helpers/services';

const example = YAML.parse(readFileSync(join(ROOT, 'config.yaml.example'), 'utf8')) as { discord_auth: { token: string; client_secret: string }; meta: { bot_iserver_secret: string } };
const SECRETS = [example.discord_auth.token, example.discord_auth.client_secret, example.meta.bot_iserver_secret];

describe('fuzz: webserver', () => {
  let sim: Running;
  let web: Running;
  let api: string;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '1', '--identify-interval-ms', '0', '--rest-limit', '1000000'], { env: { LOG_LEVEL: 'warn' } });
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'discord_auth.allowed_redirects': [`${api}/auth/callback`], 'meta.port': port,
      'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_webfuzz'),
    });
    web = start(['webserver', '--config', path]);
    await web.waitFor(/webserver listening/);
  });

  after(async () => {
    await web?.stop();
    await sim?.stop();
  });

  it('answers every generated request with < 500, no leak; same process, flat memory, still serving', async (t) => {
    const pid = web.child.pid!;
    const value = hostileString.map(wireSafe);
    const input = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      path: fc.oneof(
        fc.constantFrom('/auth/login', '/auth/me', '/auth/logout', '/clusters/actions', '/status', '/healthz', '/metrics', '/clusters/0/modules'),
        fc.tuple(value, value).map(([code, state]) => `/auth/callback?code=${code}&state=${state}`),
        value.map((v) => `/clusters/actions?limit=${v}`),
        value.map((v) => `/clusters/${v}/modules`),
        value.map((v) => `/auth/${v}`),
        value.map((v) => `/${v}`),
      ),
      cookie: fc.option(fc.oneof(value.map((v) => `session=${v}`), value), { nil: undefined }),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      body: fc.option(fc.oneof(hostileJson.map((v) => JSON.stringify(v) ?? 'null'), hostileString, fc.constant(deeplyNested(10_000))), { nil: undefined }),
    }).map((r) => ({
      method: r.method,
      path: r.path,
      headers: { 'content-type': r.contentType, ...(r.cookie === undefined ? {} : { cookie: r.cookie }) },
      body: r.method === 'GET' || r.method === 'OPTIONS' ? undefined : r.body,
    }));
    const figures = await fuzzSurface({ pid, input, send: (r) => rawRequest(api, r), secrets: SECRETS });
    t.diagnostic(describeFigures('webserver', figures));
    assert.equal(web.child.exitCode, null);
    assert.equal(web.child.pid, pid);
    assertRssWithin(figures);
    assert.equal((await fetch(`${api}/auth/login`, { redirect: 'manual' })).status, 302);
    assert.equal((await fetch(`${api}/clusters/actions?limit=5`)).status, 200);
  });
});
