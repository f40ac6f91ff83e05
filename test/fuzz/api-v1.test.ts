// /api/v1 under 200+ generated requests as a logged-in server owner (API token) and as nobody:
// every route with hostile ids, queries, bodies and Authorization headers gets a 2xx or a 4xx
// `{error, code}`, never a 5xx or a leak; the same process, flat memory, still serving after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { deeplyNested, hostileJson, hostileString } from '../helpers/fuzz';
import { assertRssWithin, describeFigures, fuzzSurface } from '../helpers/fuzz-run';
import { rawRequest, wireSafe } from '../helpers/raw-http';
import { login, startWebsiteStack, type WebsiteStack } from '../helpers/website';

describe('fuzz: /api/v1', () => {
  let s: WebsiteStack;
  let token: string;

  before(async () => {
    // Limits high enough that the run tests the routes, not the 429s (those have their own tests).
    s = await startWebsiteStack({ 'webserver.rate_limits.ip.requests': 1_000_000, 'webserver.rate_limits.user.requests': 1_000_000 });
    const owner = await login(s.api, s.owner);
    const created = await fetch(`${s.api}/api/v1/users/@me/tokens`, {
      method: 'POST', headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fuzz' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    token = ((await created.json()) as { token: string }).token;
  });

  after(() => s?.stop());

  it('answers every generated request with 2xx or a 4xx {error, code}, no leak; same process, flat memory', async (t) => {
    const pid = s.web.child.pid!;
    const guild = s.guilds[0]!.id;
    const value = hostileString.map(wireSafe);
    const id = fc.oneof(fc.constant(guild), fc.constantFrom('0', '-1', '1e3', '99999999999999999999999', '%00', '..', 'null'), value);
    const route: fc.Arbitrary<[string, string]> = fc.oneof(
      fc.constantFrom<[string, string]>(['GET', '/users/@me'], ['GET', '/users/@me/guilds'], ['GET', '/users/@me/tokens'], ['POST', '/users/@me/tokens'], ['GET', '/clusters'], ['POST', '/clusters/rolling-restart'], ['POST', '/clusters/reshard']),
      id.map((g): [string, string] => ['GET', `/guilds/${g}`]),
      fc.tuple(fc.constantFrom('GET', 'POST'), id).map(([m, g]): [string, string] => [m, `/guilds/${g}/tasks`]),
      fc.tuple(id, value, fc.constantFrom('', '/download')).map(([g, task, tail]): [string, string] => ['GET', `/guilds/${g}/tasks/${task}${tail}`]),
      fc.tuple(fc.constantFrom('GET', 'PUT'), id, fc.oneof(fc.constantFrom('limits', 'moderation', 'permissions'), value)).map(([m, g, mod]): [string, string] => [m, `/guilds/${g}/settings/${mod}`]),
      value.map((v): [string, string] => ['DELETE', `/users/@me/tokens/${v}`]),
      value.map((v): [string, string] => ['POST', `/clusters/${v}/restart`]),
      value.map((v): [string, string] => ['GET', `/clusters/actions?limit=${v}`]),
      fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), value).map(([m, v]): [string, string] => [m, `/${v}`]),
    );
    const input = fc.record({
      route,
      auth: fc.oneof({ weight: 6, arbitrary: fc.constant('token') }, { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), fc.constant('User '), fc.constant('Bearer x'), value.map((v) => `User ${v}`)) }),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      body: fc.option(fc.oneof(hostileJson.map((v) => JSON.stringify(v) ?? 'null'), hostileString, fc.constant(deeplyNested(10_000))), { nil: undefined }),
    }).map(({ route: [method, path], auth, ...r }) => ({
      method,
      path: `/api/v1${path}`,
      headers: { 'content-type': r.contentType, ...(auth === undefined ? {} : { authorization: auth === 'token' ? `User ${token}` : auth }) },
      body: method === 'GET' ? undefined : r.body,
    }));
    const figures = await fuzzSurface({
      pid, input, secrets: [token],
      send: async (r) => {
        const res = await rawRequest(s.api, r);
        if (res.status >= 400 && res.status < 500) {
          const body = JSON.parse(res.body) as { error?: unknown; code?: unknown };
          assert.ok(typeof body.error === 'string' && typeof body.code === 'string', `${r.method} ${r.path}: ${res.status} without {error, code}: ${res.body.slice(0, 200)}`);
        }
        return res;
      },
    });
    t.diagnostic(describeFigures('/api/v1', figures));
    assert.equal(s.web.child.exitCode, null, 'the webserver is still running');
    assertRssWithin(figures);
    const me = await fetch(`${s.api}/api/v1/users/@me`, { headers: { authorization: `User ${token}` } });
    assert.equal(me.status, 200, 'still serving');
  });
});
