// The API's rate limits come from the config (webserver.rate_limits), and the client address they
// count per is X-Forwarded-For only when webserver.trust_proxy says whose to believe.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase, dropRedisKeys, uniqueName } from '../helpers/services';

describe('webserver rate limits from the config, per client address behind a trusted proxy', () => {
  const channels = [uniqueName('st_rl'), uniqueName('st_rl')];
  const webs: Running[] = [];
  const urls: string[] = [];
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async () => {
    db = await createTestDatabase();
    // One webserver behind a reverse proxy on 127.0.0.1, one facing clients directly.
    for (const [i, trust] of [['127.0.0.1'], false].entries()) {
      const port = await freePort();
      const { path } = writeTestConfig({
        'meta.port': port, 'meta.postgres_url': db.url, 'clusterer.enabled': false, 'clusterer.redis_channel': channels[i],
        'webserver.trust_proxy': trust, 'webserver.rate_limits.ip.requests': 5, 'webserver.rate_limits.ip.window_seconds': 60,
      });
      const web = start(['webserver', '--config', path]);
      webs.push(web);
      await web.waitFor(/webserver listening/, 60_000);
      urls.push(`http://127.0.0.1:${port}`);
    }
  });

  after(async () => {
    for (const web of webs) await web.stop();
    await db?.drop();
    for (const channel of channels) await dropRedisKeys(`${channel}:`);
  });

  const ask = (url: string, forwardedFor: string) => fetch(`${url}/api/v1/users/@me`, { headers: { 'x-forwarded-for': forwardedFor } });

  it('behind a trusted proxy: 5 requests a minute per forwarded client address, then 429', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(urls[0]!, '203.0.113.7'));
    assert.deepEqual(answers.map((a) => a.status), [401, 401, 401, 401, 401, 429], 'the 6th request of one client is refused');
    const refused = answers[5]!;
    assert.equal(refused.headers.get('x-ratelimit-limit'), '5');
    assert.equal(refused.headers.get('x-ratelimit-scope'), 'ip');
    const body = (await refused.json()) as { code: string; retry_after: number };
    assert.equal(body.code, 'rate_limited');
    assert.ok(body.retry_after > 0 && body.retry_after <= 60, `retry_after ${body.retry_after}`);
    assert.equal((await ask(urls[0]!, '203.0.113.8')).status, 401, 'another client behind the proxy is not limited');
  });

  it('without trust_proxy, X-Forwarded-For is ignored: every request counts for the peer', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask(urls[1]!, `198.51.100.${i}`)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429], 'a client cannot dodge the limit by inventing addresses');
  });
});
