// Hostile bodies against the sim's emoji, sticker, thread, scheduled event and stage instance
// routes and the voice/presence/sticker control routes: never a 5xx or a stack trace, the
// process stays up and small, and a well-formed request is still answered afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { assertNoLeak, fuzzParams, hostileJson, rssOf } from '../helpers/fuzz';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

describe('fuzz: sim guild entity routes', () => {
  let sim: Running;
  let url: string;
  let routes: [string, string][];
  let owner: string;

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  /** A REST call as the guild owner, who has every permission: the body is what gets checked. */
  const act = (method: string, path: string, body?: unknown) => post('/_sim/act', { user_id: owner, method, path, body });

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '1', '--seed', '4']);
    url = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const [g] = (await (await fetch(`${url}/_sim/guilds`)).json()) as { id: string; owner_id: string; channels: { id: string; name: string }[] }[];
    owner = g!.owner_id;
    const ch = (name: string) => g!.channels.find((c) => c.name === name)!.id;
    const id = async (r: Promise<{ text: string }>) => (JSON.parse((await r).text) as { id: string }).id;
    const emoji = await id(act('POST', `/guilds/${g!.id}/emojis`, { name: 'seed', image: 'data:image/png;base64,iVBORw0KGgo=' }));
    const thread = await id(act('POST', `/channels/${ch('general')}/threads`, { name: 'seed' }));
    const event = await id(act('POST', `/guilds/${g!.id}/scheduled-events`, { name: 'seed', privacy_level: 2, scheduled_start_time: new Date(Date.now() + 3_600_000).toISOString(), entity_type: 2, channel_id: ch('General') }));
    const sticker = await id(post(`/_sim/guilds/${g!.id}/stickers`, { name: 'seed', tags: 'seed' }));
    routes = [
      ['POST', `/guilds/${g!.id}/emojis`], ['PATCH', `/guilds/${g!.id}/emojis/${emoji}`], ['PATCH', `/guilds/${g!.id}/stickers/${sticker}`],
      ['POST', `/channels/${ch('general')}/threads`], ['PATCH', `/channels/${thread}`], ['PUT', `/channels/${thread}/thread-members/@me`],
      ['POST', `/guilds/${g!.id}/scheduled-events`], ['PATCH', `/guilds/${g!.id}/scheduled-events/${event}`],
      ['POST', '/stage-instances'], ['PATCH', `/stage-instances/${ch('Stage')}`],
      ['CONTROL', `/_sim/guilds/${g!.id}/voice`], ['CONTROL', `/_sim/guilds/${g!.id}/presences`], ['CONTROL', `/_sim/guilds/${g!.id}/stickers`],
    ];
  });
  after(() => sim.stop());

  it('answers hostile bodies with 4xx, stays up and small, and still serves a good request', async () => {
    const pid = sim.child.pid!;
    const run = (numRuns: number) =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: routes.length - 1 }), hostileJson, async (i, body) => {
          const [method, path] = routes[i]!;
          const res = method === 'CONTROL' ? await post(path, body) : await act(method, path, body);
          assert.ok(res.status < 500, `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${res.text}`);
          assertNoLeak(res.text, [DEFAULT_TOKEN]);
        }),
        { ...fuzzParams(), numRuns },
      );
    await run(50); // warm-up
    const rssBefore = rssOf(pid);
    await run(fuzzParams().numRuns!);
    assert.equal(sim.child.exitCode, null);
    assert.equal(sim.child.pid, pid);
    assert.ok(rssOf(pid) < rssBefore * 1.2, `RSS grew from ${rssBefore} to ${rssOf(pid)}`);
    const ok = await act('GET', routes[0]![1]);
    assert.equal(ok.status, 200);
  });
});
