// A bot cluster's IServer (started by the webserver's clusterer, against the sim) under hostile
// input: Authorization values that name Object.prototype's keys, bodies of the wrong shape,
// and 200+ generated requests: never a 5xx or a leak, the same cluster process afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { writeTestConfig } from '../helpers/config';
import { hostileJson, hostileString } from '../helpers/fuzz';
import { assertRssWithin, describeFigures, fuzzSurface } from '../helpers/fuzz-run';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { rawRequest, wireSafe } from '../helpers/raw-http';
import { uniqueName } from '../helpers/services';

const SECRET = 'iserver-fuzz-secret-0123456789abcdefghijklmnop';
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAwMQ.c2lt.c3BsYXNodGFpbC1zaW0tdG9rZW4tZm9yLWRldmVsb3BtZW50';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IServer: hostile input and fuzz', () => {
  let sim: Running;
  let web: Running;
  let api: string;
  let iserver: string;
  let guildId: string;
  const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
  const clusters = async () => ((await (await fetch(`${api}/clusters`)).json()) as { clusters: { state: string; pid: number | null }[] }).clusters;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '4', '--max-concurrency', '2', '--identify-interval-ms', '0']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guildId = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string }[])[0]!.id;
    const port = await freePort();
    const basePort = await freePort();
    api = `http://127.0.0.1:${port}`;
    iserver = `http://127.0.0.1:${basePort}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.port': port, 'meta.bot_iserver_base_port': basePort, 'meta.bot_iserver_secret': SECRET,
      'clusterer.redis_channel': uniqueName('st_isfuzz'), 'clusterer.ping_interval': 1000, 'clusterer.ping_timeout': 10_000,
    });
    web = start(['webserver', '--config', path], { env: { LOG_LEVEL: 'warn' } });
    for (let i = 0; i < 300; i++) {
      const up = await clusters().catch(() => []);
      if (up.length === 1 && up[0]!.state === 'up' && (await fetch(`${iserver}/info`, { headers: auth }).then((r) => r.ok).catch(() => false))) return;
      await sleep(200);
    }
    throw new Error(`the cluster did not come up:\n${web.output().slice(-3000)}`);
  });

  after(async () => {
    const pids = (await clusters().catch(() => [])).map((c) => c.pid);
    await web?.stop();
    for (const pid of pids) if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await sim?.stop();
  });

  it("refuses Authorization values naming Object.prototype's keys (401, never 500)", async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      for (const header of [`${name} x`, name, `Bearer ${name}`, `${name} ${SECRET}`, `Bearer ${SECRET} ${name}`]) {
        const res = await fetch(`${iserver}/info`, { headers: { authorization: header } });
        assert.equal(res.status, 401, header);
      }
    }
  });

  it('refuses a body of the wrong shape with 400 naming the field (no coercion, no silent drop)', async () => {
    const post = async (body: string) => {
      const res = await fetch(`${iserver}/guilds-exist`, { method: 'POST', headers: auth, body });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    const scalar = await post('{"guilds":"123"}');
    assert.equal(scalar.status, 400);
    assert.match(scalar.error, /guilds/);
    const extra = await post('{"guilds":[],"shards":[1]}');
    assert.equal(extra.status, 400);
    assert.match(extra.error, /shards/);
    const ok = await post(JSON.stringify({ guilds: [guildId, '1'] }));
    assert.equal(ok.status, 200);
  });

  it('answers 200+ generated requests with < 500 and no leak; same cluster process, flat memory', async (t) => {
    const pid = (await clusters())[0]!.pid!;
    const input = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      path: fc.oneof(
        fc.constantFrom('/info', '/guilds-exist', `/guilds/${guildId}`, '/modules', '/healthz', '/metrics'),
        hostileString.map((s) => `/guilds/${wireSafe(s)}`),
        hostileString.map((s) => `/${wireSafe(s)}`),
      ),
      auth: fc.oneof(fc.constant(`Bearer ${SECRET}`), fc.constant(`Bearer ${SECRET}`), hostileString.map((s) => wireSafe(s)), hostileString.map((s) => `Bearer ${wireSafe(s)}`)),
      body: fc.oneof(
        fc.record({ guilds: fc.oneof(fc.array(fc.oneof(fc.constant(guildId), hostileString), { maxLength: 5 }), hostileJson) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
        hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
        hostileString,
      ),
    }).map((r) => ({ method: r.method, path: r.path, headers: { authorization: r.auth, 'content-type': 'application/json' }, body: r.method === 'GET' ? undefined : r.body }));
    const figures = await fuzzSurface({ pid, input, send: (r) => rawRequest(iserver, r), secrets: [SECRET, TOKEN] });
    t.diagnostic(describeFigures('IServer', figures));
    const now = await clusters();
    assert.deepEqual(now.map((c) => [c.state, c.pid]), [['up', pid]]);
    assertRssWithin(figures);
    assert.equal((await fetch(`${iserver}/guilds/${guildId}`, { headers: auth })).status, 200);
  });
});
