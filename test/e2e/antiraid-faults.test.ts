// AntiRaid with Postgres down (a private server, stopped under the running bot): a raid is still
// stopped from the rules' copy in Redis, the mod log says at once that the case is pending, and
// the case is written with its number once Postgres is back. Commands whose permissions cannot be
// read are refused with the reason, except those that need no permission. A pending case outlives
// its cluster: it waits in Redis and the restarted cluster writes it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AntiraidWorld, eventually, limitRule, startAntiraid } from '../helpers/antiraid';
import { type PrivateService, privatePostgres } from '../helpers/private-services';

const P = { KickMembers: 1n << 1n, ManageChannels: 1n << 4n };

describe('AntiRaid with Postgres down (sim -> proxy -> bot, private Postgres)', () => {
  let pg: PrivateService;
  let w: AntiraidWorld;
  let modlog: string;
  const modlogLines = async () => ((await w.state()).messages[modlog] ?? []).map((m) => m.content);
  /** A new member deletes 5 channels (rule: more than 3 -> ban); Postgres stops after the first. */
  const raidWhilePostgresStops = async (name: string) => {
    const raider = await w.member(name, P.ManageChannels);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await (await w.act(w.ownerId, 'POST', `/guilds/${w.guildId}/channels`, { name: `${name}-${i}` })).json()) as { id: string }).id);
    // One entry while Postgres is up copies the limits to Redis, as a running guild's would be.
    assert.equal((await w.act(raider, 'DELETE', `/channels/${ids[0]}`)).status, 200);
    await pg.stop();
    for (const id of ids.slice(1)) await w.act(raider, 'DELETE', `/channels/${id}`);
    return raider;
  };

  before(async () => {
    pg = await privatePostgres();
    await pg.start();
    w = await startAntiraid({ postgresUrl: pg.url });
    modlog = ((await (await w.act(w.ownerId, 'POST', `/guilds/${w.guildId}/channels`, { name: 'mod-log' })).json()) as { id: string }).id;
    await w.command(w.ownerId, 'settings', [{ type: 1, name: 'modlog', options: [{ type: 7, name: 'channel', value: modlog }] }]);
    assert.equal(await w.command(w.ownerId, 'limits', limitRule('channel_delete', 3, 10, 'ban')), 'Rule #1: more than 3 channel_delete within 10s -> ban.');
    // Case #1 while Postgres is up; it reads (and so copies to Redis) the mod-log setting.
    assert.match(await w.command(w.ownerId, 'warn', [{ type: 6, name: 'user', value: await w.member('first') }, { type: 3, name: 'reason', value: 'before' }]), /^Case #1: /);
  });
  after(async () => {
    await w?.stop();
    await pg?.remove();
  });

  it('bans the raider from the cached rules, says the case is pending, writes it as #2 once Postgres is back', async () => {
    const moderator = await w.member('kicker', P.KickMembers);
    const raider = await raidWhilePostgresStops('raider');
    await eventually('the raider banned', async () => (await w.state()).bans.some((b) => b.user.id === raider));
    const pending = await eventually('a pending-case line', async () => (await modlogLines()).find((l) => l.includes(`ban of <@${raider}>`)));
    assert.match(pending, /^Case: ban of .*\(case pending: the database is unavailable/);

    assert.match(await w.command(w.ownerId, 'ping', []), /^Pong!/, 'a command that needs no permission runs');
    assert.equal(
      await w.command(moderator, 'kick', [{ type: 6, name: 'user', value: await w.member('bystander') }]),
      "/kick cannot be checked against this server's permissions right now (settings unavailable); try again in a minute.",
    );

    await pg.start();
    const line = await eventually('the numbered case in the mod log', async () => (await modlogLines()).find((l) => l.startsWith(`Case #2: ban of <@${raider}>`)), 30_000);
    assert.ok(!line.includes('FAILED'));
    const { rows } = await w.pool.query('select number, action, state, target_id from cases order by number');
    assert.deepEqual(rows.map((r) => [r.number, r.action, r.state]), [[1, 'warn', 'applied'], [2, 'ban', 'applied']]);
    assert.equal(rows[1].target_id, raider);
  });

  it('a case pending when its cluster is killed -9 is written once, by the restarted cluster', async () => {
    type Cluster = { id: number; state: string; pid: number | null };
    const cluster = async () => ((await (await fetch(`${w.webUrl}/clusters`)).json()) as { clusters: Cluster[] }).clusters[0]!;
    const raider = await raidWhilePostgresStops('second-raider');
    await eventually('a pending-case line', async () => (await modlogLines()).find((l) => l.startsWith(`Case: ban of <@${raider}>`)), 15_000, () => w.output());

    const { pid } = await cluster();
    // The case lives only in Redis now: the process that queued it is gone before Postgres is back.
    process.kill(pid!, 'SIGKILL');
    await pg.start();
    await eventually('the cluster restarted', async () => {
      const c = await cluster();
      return c.pid !== pid && c.state === 'up' ? c : undefined;
    }, 60_000, () => w.output());
    await eventually('the case in the mod log', async () => (await modlogLines()).find((l) => l.startsWith(`Case #3: ban of <@${raider}>`)), 30_000, () => w.output());
    // Time for a second write, were the queued case taken twice.
    await new Promise((r) => setTimeout(r, 3_000));
    const { rows } = await w.pool.query('select number, action, target_id from cases where number > 2 order by number');
    assert.deepEqual(rows.map((r) => [r.number, r.action, r.target_id]), [[3, 'ban', raider]]);
    assert.equal((await modlogLines()).filter((l) => l.startsWith('Case #3:')).length, 1, 'one mod-log line for the case');
  });
});
