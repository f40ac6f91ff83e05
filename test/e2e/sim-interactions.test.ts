// `splashtail sim` holds interactions to Discord's 3 s deadline unless --interaction-deadline-ms
// lengthens it (for tests on slow machines).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

describe('sim interaction deadline', () => {
  const sims: Running[] = [];
  after(async () => {
    for (const s of sims) await s.stop();
  });

  const answerLate = async (flags: string[]) => {
    const sim = start(['sim', '--port', String(await freePort()), '--guilds', '1', '--shards', '1', '--identify-interval-ms', '0', ...flags]);
    sims.push(sim);
    const base = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const [guild] = (await (await fetch(`${base}/_sim/guilds`)).json()) as { id: string; channels: { id: string; type: number }[] }[];
    const channel = guild!.channels.find((c) => c.type === 0)!;
    const created = (await (await fetch(`${base}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ guild_id: guild!.id, channel_id: channel.id, command_name: 'ping' }),
    })).json()) as { id: string; token: string };
    await sleep(3_500);
    const res = await fetch(`${base}/api/v10/interactions/${created.id}/${created.token}/callback`, {
      method: 'POST', headers: { authorization: `Bot ${DEFAULT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 4, data: { content: 'pong' } }),
    });
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as { code: number }) };
  };

  it('by default a response 3.5 s late is 10062 Unknown interaction', async () => {
    assert.deepEqual(await answerLate([]), { status: 404, body: { message: 'Unknown interaction', code: 10062 } });
  });

  it('--interaction-deadline-ms 20000 accepts it', async () => {
    assert.deepEqual(await answerLate(['--interaction-deadline-ms', '20000']), { status: 204, body: null });
  });
});
