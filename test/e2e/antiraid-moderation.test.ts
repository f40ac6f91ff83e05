// Moderation commands end to end: each refused without the permission (or with a deny override),
// allowed by an override, held to the role hierarchy, and recorded as a numbered case. Checked
// on the sim's state and the cases table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AntiraidWorld, startAntiraid } from '../helpers/antiraid';

const P = { KickMembers: 1n << 1n, BanMembers: 1n << 2n, ManageMessages: 1n << 13n, ModerateMembers: 1n << 40n };
const user = (id: string) => ({ type: 6, name: 'user', value: id });
const reason = (text: string) => ({ type: 3, name: 'reason', value: text });

describe('moderation commands (bot, sim, Postgres)', () => {
  let w: AntiraidWorld;
  let mod: string;
  let modRole: string;
  before(async () => {
    w = await startAntiraid();
    mod = await w.member('moddy', P.KickMembers | P.ModerateMembers | P.ManageMessages);
    modRole = (await w.state()).roles.find((r) => r.name === 'moddy')!.id;
  });
  after(() => w?.stop());

  it('refuses /ban without Ban Members, allows it by override, then bans with a case', async () => {
    const target = await w.member('victim1');
    assert.equal(await w.command(mod, 'ban', [user(target)]), 'You are not allowed to use /ban here.');
    assert.ok(!(await w.state()).bans.some((b) => b.user.id === target));
    const set = [{ type: 1, name: 'set', options: [{ type: 3, name: 'command', value: 'ban' }, { type: 8, name: 'role', value: modRole }, { type: 3, name: 'value', value: 'allow' }] }];
    assert.equal(await w.command(w.ownerId, 'permissions', set), `/ban: <@&${modRole}> allow.`);
    assert.match(await w.command(mod, 'ban', [user(target), reason('spam')]), /^Case #\d+: <@\d+> banned\.$/);
    assert.ok((await w.state()).bans.some((b) => b.user.id === target));
    const { rows } = await w.pool.query('select action, actor_id, reason from cases where guild_id = $1 and target_id = $2', [w.guildId, target]);
    assert.deepEqual(rows, [{ action: 'ban', actor_id: mod, reason: 'spam' }]);
  });

  it('a deny override refuses a command the role would have by default', async () => {
    const set = [{ type: 1, name: 'set', options: [{ type: 3, name: 'command', value: 'warn' }, { type: 8, name: 'role', value: modRole }, { type: 3, name: 'value', value: 'deny' }] }];
    await w.command(w.ownerId, 'permissions', set);
    assert.equal(await w.command(mod, 'warn', [user(await w.member('victim2')), reason('x')]), 'You are not allowed to use /warn here.');
  });

  it('refuses to kick a member at or above the moderator, kicks one below', async () => {
    const peer = await w.member('peer', P.KickMembers, 100);
    assert.match(await w.command(mod, 'kick', [user(peer)]), /has a role at or above your highest role/);
    assert.ok((await w.state()).members.some((m) => m.user.id === peer), 'still a member');
    const target = await w.member('victim3');
    assert.match(await w.command(mod, 'kick', [user(target), reason('rude')]), /^Case #\d+: <@\d+> kicked\.$/);
    assert.ok(!(await w.state()).members.some((m) => m.user.id === target), 'kicked');
    const dms = (await (await fetch(`${w.simUrl}/_sim/users/${target}/dms`)).json()) as { content: string }[];
    assert.deepEqual(dms.map((m) => m.content), [`You were kicked from Sim Guild 1: moddy: rude`], 'told by DM before the kick');
  });

  it('times a member out for the given duration, and refuses more than 28 days', async () => {
    const target = await w.member('victim4');
    assert.equal(await w.command(mod, 'timeout', [user(target), { type: 3, name: 'duration', value: '30d' }]), 'A timeout lasts from 1 second to 28 days.');
    assert.match(await w.command(mod, 'timeout', [user(target), { type: 3, name: 'duration', value: '2h' }]), /^Case #\d+: <@\d+> timed out until/);
    const until = (await w.state()).members.find((m) => m.user.id === target)!.communication_disabled_until;
    const left = Date.parse(until ?? '') - Date.now();
    assert.ok(left > 7_100_000 && left <= 7_200_000, `timed out for ${left} ms`);
  });

  it('/purge bulk-deletes the last messages of one user', async () => {
    const spammer = await w.member('spammer');
    for (let i = 0; i < 5; i++) await w.post(`/_sim/guilds/${w.guildId}/channels/${w.general}/messages`, { author_id: spammer, content: `spam ${i}` });
    await w.post(`/_sim/guilds/${w.guildId}/channels/${w.general}/messages`, { author_id: w.ownerId, content: 'keep me' });
    assert.match(await w.command(mod, 'purge', [{ type: 4, name: 'count', value: 3 }, user(spammer)]), /^Case #\d+: deleted 3 message\(s\)\.$/);
    const left = ((await w.state()).messages[w.general] ?? []).filter((m) => m.author.id === spammer || m.content === 'keep me').map((m) => m.content);
    assert.deepEqual(left, ['spam 0', 'spam 1', 'keep me']);
  });

  it('lists cases numbered 1..n without gaps', async () => {
    const { rows } = await w.pool.query<{ number: number }>('select number from cases where guild_id = $1 order by number', [w.guildId]);
    assert.deepEqual(rows.map((r) => r.number), rows.map((_, i) => i + 1));
    const listed = await w.command(w.ownerId, 'cases', []);
    assert.match(listed, /Case #1: ban of <@\d+> by <@\d+>: spam/);
  });
});
