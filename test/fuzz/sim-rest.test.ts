// Fuzz: generated Discord REST requests against a real `splashtail sim`: never a 5xx, never a
// leak, the same process answering well-formed requests afterwards, memory flat.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discordRequests, simIds } from '../helpers/discord-fuzz';
import { assertRssWithin, describeFigures, fuzzSurface } from '../helpers/fuzz-run';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { rawRequest } from '../helpers/raw-http';
import { DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN } from '../../internal/sim/world';

describe('fuzz: sim REST', () => {
  let sim: Running;
  let simUrl: string;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--rest-limit', '1000000'], { env: { LOG_LEVEL: 'warn' } });
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  });
  after(() => sim?.stop());

  it('answers every generated request with < 500, no leak; same process, flat memory, still serving', async (t) => {
    const ids = await simIds(simUrl);
    const pid = sim.child.pid!;
    const figures = await fuzzSurface({
      pid,
      input: discordRequests(ids, DEFAULT_TOKEN),
      send: (r) => rawRequest(simUrl, r),
      secrets: [DEFAULT_TOKEN, DEFAULT_CLIENT_SECRET],
    });
    t.diagnostic(describeFigures('sim REST', figures));
    assert.equal(sim.child.exitCode, null);
    assert.equal(sim.child.pid, pid);
    assertRssWithin(figures);
    const auth = { authorization: `Bot ${DEFAULT_TOKEN}` };
    for (const path of [`/api/v10/guilds/${ids.guild}/audit-logs`, `/api/v10/guilds/${ids.guild}/channels`, '/api/v10/users/@me']) {
      assert.equal((await fetch(`${simUrl}${path}`, { headers: auth })).status, 200, path);
    }
    assert.equal((await fetch(`${simUrl}/_sim/guilds/${ids.guild}/state`)).status, 200);
  });
});
