// Discord's daily session start limit (session_start_limit): the proxy never IDENTIFYs past it.
// The sim allows 3 IDENTIFYs a day for a bot of 4 shards: 3 shards come up, the 4th waits for the
// reset (logged, and the gauge says 0 left), and the sim refuses no IDENTIFY.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { waitUntil } from '../helpers/deadline';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

type Connections = { connections: { started: string }[]; identifies_refused: number };

describe('proxy and the daily session start limit (#11)', () => {
  let sim: Running;
  let proxy: Running;
  let simUrl: string;
  let proxyUrl: string;
  const prefix = `${uniqueName('st_budget')}:`;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '4', '--guilds', '4', '--max-concurrency', '4', '--identify-interval-ms', '0', '--session-start-limit', '3']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    proxyUrl = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix });
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/"msg":"proxy listening/);
  });

  after(async () => {
    await proxy?.stop();
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('identifies 3 shards, holds the 4th until the reset, and is never refused', async () => {
    const shards = async () => ((await (await fetch(`${proxyUrl}/shards`)).json()) as { shards: { shard: number; status: string }[] }).shards;
    await waitUntil('3 shards ready', async () => (await shards()).filter((s) => s.status === 'Ready').length === 3, 30_000);
    // Discord's answer may still lag the 3rd IDENTIFY: the proxy waits for it to count (up to 10 s).
    await waitUntil('the spent budget logged', () => /the daily session start limit is spent/.test(proxy.output()), 25_000);
    // Time for a 4th IDENTIFY, were the proxy to send one.
    await new Promise((r) => setTimeout(r, 2_000));
    const all = await Promise.all([0, 1, 2, 3].map(async (s) => (await (await fetch(`${simUrl}/_sim/shards/${s}/connections`)).json()) as Connections));
    assert.equal(all.flatMap((c) => c.connections).filter((c) => c.started === 'IDENTIFY').length, 3, 'three IDENTIFYs reached the sim');
    assert.equal(all.reduce((n, c) => n + c.identifies_refused, 0), 0, 'none refused for the spent budget');
    assert.equal((await shards()).filter((s) => s.status === 'Ready').length, 3);
    const metrics = await (await fetch(`${proxyUrl}/metrics`)).text();
    assert.match(metrics, /^proxy_session_starts_remaining(\{[^}]*\})? 0$/m);
  });
});
