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
    // The cluster's IServer answers /clusters/0/modules; until it is up that route is a fair 503.
    for (let i = 0; i < 300; i++) {
      const body = (await fetch(`${api}/clusters`).then((r) => r.json()).catch(() => undefined)) as { clusters: { state: string }[] } | undefined;
      if (body?.clusters.length && body.clusters.every((c) => c.state === 'up') && (await fetch(`${api}/clusters/0/modules`)).status === 200) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the cluster did not come up:\n${web.output().slice(-3000)}`);
  });

  after(async () => {
    const pids = ((await fetch(`${api}/clusters`).then((r) => r.json()).catch(() => ({ clusters: [] }))) as { clusters: { pid: number | null }[] }).clusters.map((c) => c.pid);
    await web?.stop();
    for (const pid of pids) if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await sim?.stop();
  });

  it('answers every generated request with < 500, no leak; same process, flat memory, still serving', async (t) => {
    const pid = web.child.pid!;
    const value = hostileString.map(wireSafe);
    const endpoint: fc.Arbitrary<[string, string]> = fc.oneof(
      { weight: 4, arbitrary: fc.oneof(
        fc.constantFrom<[string, string]>(['GET', '/auth/login'], ['GET', '/auth/me'], ['POST', '/auth/logout'], ['GET', '/status'], ['GET', '/healthz'], ['GET', '/clusters/0/modules']),
        fc.tuple(value, value).map(([code, state]): [string, string] => ['GET', `/auth/callback?code=${code}&state=${state}`]),
        value.map((v): [string, string] => ['GET', `/clusters/actions?limit=${v}`]),
        value.map((v): [string, string] => ['GET', `/clusters/${v}/modules`]),
      ) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), fc.oneof(value.map((v) => `/auth/${v}`), value.map((v) => `/${v}`))) },
    );
    const input = fc.record({
      endpoint,
      // Bad percent-escapes are what broke cookie parsing before: seed them often.
      cookie: fc.oneof(fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%C0%AF', '%00').map((v) => `session=${v}`), value.map((v) => `session=${v}`), value, fc.constant(undefined)),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      body: fc.option(fc.oneof(hostileJson.map((v) => JSON.stringify(v) ?? 'null'), hostileString, fc.constant(deeplyNested(10_000))), { nil: undefined }),
    }).map(({ endpoint: [method, path], ...r }) => ({
      method,
      path,
      headers: { 'content-type': r.contentType, ...(r.cookie === undefined ? {} : { cookie: r.cookie }) },
      body: method === 'GET' || method === 'OPTIONS' ? undefined : r.body,
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
