// Every limit punishment end to end (sim -> proxy -> bot): strip_roles, timeout and kick each seen
// in the sim's state, with a case and a mod-log message; one the bot cannot apply is a failed case;
// `revert` recreates the deleted channels and roles; case numbers stay 1..N under commands and
// punishments fired at once; command overrides hold on every command, old ones included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AntiraidWorld, eventually, limitRule, startAntiraid } from '../helpers/antiraid';

const P = { SendMessages: 1n << 11n, ManageChannels: 1n << 4n, ManageRoles: 1n << 28n, MentionEveryone: 1n << 17n, ModerateMembers: 1n << 40n };
type CaseRow = { number: number; action: string; state: string; error: string | null };

describe('limit punishments, revert, case numbers, command overrides (sim -> proxy -> bot)', () => {
  let w: AntiraidWorld;
  let modlog: string;
  const limits = (options: unknown[]) => w.command(w.ownerId, 'limits', options);
  const casesOf = async (userId: string) =>
    (await w.pool.query<CaseRow>('select number, action, state, error from cases where guild_id = $1 and target_id = $2 order by number', [w.guildId, userId])).rows;
  const modlogLine = (caseNumber: number, userId: string) =>
    eventually(`mod-log message of case #${caseNumber}`, async () => ((await w.state()).messages[modlog] ?? []).map((m) => m.content).find((l) => l.startsWith(`Case #${caseNumber}: `) && l.includes(`<@${userId}>`)));
  const createChannels = async (userId: string, count: number, prefix: string) => {
    for (let i = 0; i < count; i++) {
      const res = await w.act(userId, 'POST', `/guilds/${w.guildId}/channels`, { name: `${prefix}-${i}` });
      assert.equal(res.status, 201, await res.text());
    }
  };
  const oneCase = (userId: string) => eventually(`a case for ${userId}`, async () => ((await casesOf(userId)).length ? (await casesOf(userId))[0] : undefined), 15_000, () => w.output());

  before(async () => {
    w = await startAntiraid();
    modlog = ((await (await w.act(w.ownerId, 'POST', `/guilds/${w.guildId}/channels`, { name: 'mod-log' })).json()) as { id: string }).id;
    await w.command(w.ownerId, 'settings', [{ type: 1, name: 'modlog', options: [{ type: 7, name: 'channel', value: modlog }] }]);
    assert.equal(await limits(limitRule('channel_create', 2, 30, 'strip_roles')), 'Rule #1: more than 2 channel_create within 30s -> strip_roles.');
    assert.equal(await limits(limitRule('channel_update', 2, 30, 'timeout')), 'Rule #2: more than 2 channel_update within 30s -> timeout.');
    assert.equal(await limits(limitRule('role_create', 2, 30, 'kick')), 'Rule #3: more than 2 role_create within 30s -> kick.');
    assert.equal(await limits(limitRule('channel_delete', 2, 30, 'ban', true)), 'Rule #4: more than 2 channel_delete within 30s -> ban (and revert).');
    assert.equal(await limits(limitRule('role_delete', 2, 30, 'ban', true)), 'Rule #5: more than 2 role_delete within 30s -> ban (and revert).');
    assert.equal(await limits(limitRule('role_update', 2, 30, 'ban', true)), 'revert works with channel_delete and role_delete only.');
  });
  after(() => w?.stop());

  it('strip_roles: the raider keeps no role', async () => {
    const raider = await w.member('stripme', P.ManageChannels);
    assert.equal((await w.state()).members.find((m) => m.user.id === raider)!.roles.length, 1);
    await createChannels(raider, 3, 'strip');
    const c = await oneCase(raider);
    assert.deepEqual([c.action, c.state], ['strip_roles', 'applied']);
    assert.deepEqual((await w.state()).members.find((m) => m.user.id === raider)!.roles, [], 'every role removed');
    await modlogLine(c.number, raider);
  });

  it('timeout: communication disabled for a day', async () => {
    const raider = await w.member('muteme', P.ManageChannels);
    for (let i = 0; i < 3; i++) assert.equal((await w.act(raider, 'PATCH', `/channels/${w.general}`, { topic: `vandal ${i}` })).status, 200);
    const c = await oneCase(raider);
    assert.deepEqual([c.action, c.state], ['timeout', 'applied']);
    const until = Date.parse((await w.state()).members.find((m) => m.user.id === raider)!.communication_disabled_until ?? '');
    assert.ok(until - Date.now() > 23 * 3600_000 && until - Date.now() <= 24 * 3600_000, `timed out until ${new Date(until).toISOString()}`);
    await modlogLine(c.number, raider);
  });

  it('kick: the raider is no longer a member', async () => {
    const raider = await w.member('kickme', P.ManageRoles);
    for (let i = 0; i < 3; i++) assert.equal((await w.act(raider, 'POST', `/guilds/${w.guildId}/roles`, { name: `junk-${i}` })).status, 200);
    const c = await oneCase(raider);
    assert.deepEqual([c.action, c.state], ['kick', 'applied']);
    assert.ok(!(await w.state()).members.some((m) => m.user.id === raider), 'kicked');
    await modlogLine(c.number, raider);
  });

  it('a punishment the bot cannot apply is a failed case, reported in the mod log', async () => {
    const raider = await w.member('toohigh', P.ManageChannels, 100);
    await createChannels(raider, 3, 'high');
    const c = await oneCase(raider);
    assert.deepEqual([c.action, c.state], ['strip_roles', 'failed']);
    assert.match(c.error ?? '', /at or above the bot/);
    assert.equal((await w.state()).members.find((m) => m.user.id === raider)!.roles.length, 1, 'roles kept');
    assert.match(await modlogLine(c.number, raider), /\*\*FAILED\*\*/);
  });

  it('revert: recreates deleted channels (type, parent, position, overwrites the bot can grant) and roles', async () => {
    const owner = async (method: string, path: string, body?: unknown) => {
      const res = await w.act(w.ownerId, method, path, body);
      const text = await res.text();
      assert.ok(res.ok, text);
      return JSON.parse(text) as unknown;
    };
    const category = (await owner('POST', `/guilds/${w.guildId}/channels`, { name: 'Vault', type: 4 })) as { id: string };
    const overwrites = [{ id: w.guildId, type: 0, allow: '0', deny: (P.SendMessages | P.MentionEveryone).toString() }];
    const child = (await owner('POST', `/guilds/${w.guildId}/channels`, { name: 'secrets', parent_id: category.id, permission_overwrites: overwrites, position: 7 })) as { id: string };
    const plain = (await owner('POST', `/guilds/${w.guildId}/channels`, { name: 'lounge', position: 9 })) as { id: string };
    const raider = await w.member('nuker', P.ManageChannels);
    for (const id of [child.id, category.id, plain.id]) assert.equal((await w.act(raider, 'DELETE', `/channels/${id}`)).status, 200);

    const s = await eventually('the three channels back', async () => {
      const state = await w.state();
      return ['Vault', 'secrets', 'lounge'].every((n) => state.channels.some((c) => c.name === n)) ? state : undefined;
    });
    assert.ok(s.bans.some((b) => b.user.id === raider), 'banned');
    const vault = s.channels.find((c) => c.name === 'Vault')!;
    const secrets = s.channels.find((c) => c.name === 'secrets')!;
    assert.equal(vault.type, 4);
    assert.notEqual(vault.id, category.id);
    assert.equal(secrets.parent_id, vault.id, 'under the new category');
    assert.equal(secrets.position, 7);
    assert.equal(s.channels.find((c) => c.name === 'lounge')!.position, 9);
    // The bot holds Send Messages but not Mention Everyone: it can deny only the former.
    assert.deepEqual(secrets.permission_overwrites, [{ id: w.guildId, type: 0, allow: '0', deny: P.SendMessages.toString() }]);
    // The report is posted once everything is back, so it may follow the last channel by a moment.
    await eventually('revert reported in the mod log', async () => ((await w.state()).messages[modlog] ?? []).some((m) => m.content.startsWith(`Reverted what <@${raider}> deleted`)) || undefined);

    const roleRaider = await w.member('rolenuker', P.ManageRoles);
    // Roles created after the raider's land below it, so the raider may delete them.
    const made = [];
    for (const [i, name] of ['red', 'green', 'blue'].entries()) {
      made.push((await owner('POST', `/guilds/${w.guildId}/roles`, { name, color: 0x110000 * (i + 1), hoist: i === 0, permissions: (P.ManageChannels | P.MentionEveryone).toString() })) as { id: string });
    }
    for (const r of made) assert.equal((await w.act(roleRaider, 'DELETE', `/guilds/${w.guildId}/roles/${r.id}`)).status, 204);
    const roles = await eventually('the three roles back', async () => {
      const list = (await w.state()).roles.filter((r) => ['red', 'green', 'blue'].includes(r.name));
      return list.length === 3 ? list : undefined;
    });
    for (const [i, name] of ['red', 'green', 'blue'].entries()) {
      const r = roles.find((x) => x.name === name)!;
      assert.ok(!made.some((m) => m.id === r.id), 'a new role');
      assert.deepEqual([r.color, r.hoist, r.permissions], [0x110000 * (i + 1), i === 0, P.ManageChannels.toString()], `${name}: Mention Everyone is not the bot's to grant`);
    }
    assert.ok((await w.state()).bans.some((b) => b.user.id === roleRaider), 'banned');
  });

  it('numbers cases 1..N without gaps under moderation commands and punishments fired at once', async () => {
    const mod = await w.member('warden', P.ModerateMembers);
    const targets = await Promise.all(Array.from({ length: 12 }, (_, i) => w.member(`warned${i}`)));
    const raiders = await Promise.all(Array.from({ length: 3 }, (_, i) => w.member(`burst${i}`, P.ManageChannels)));
    const before = Number((await w.pool.query('select count(*) from cases where guild_id = $1', [w.guildId])).rows[0].count);
    const replies = await Promise.all([
      ...targets.map((t) => w.command(mod, 'warn', [{ type: 6, name: 'user', value: t }, { type: 3, name: 'reason', value: 'at once' }])),
      ...raiders.map((r, i) => createChannels(r, 3, `burst${i}`).then(() => '')),
    ]);
    for (const r of replies.slice(0, targets.length)) assert.match(r, /^Case #\d+: <@\d+> warned\.$/);
    await Promise.all(raiders.map(oneCase));
    const { rows } = await w.pool.query<{ number: number }>('select number from cases where guild_id = $1 order by number', [w.guildId]);
    assert.equal(rows.length, before + targets.length + raiders.length);
    assert.deepEqual(rows.map((r) => r.number), rows.map((_, i) => i + 1), 'no gap, no duplicate');
  });

  it('holds overrides on every command: /ping denied to a role, /limits allowed to one', async () => {
    const member = await w.member('plain', 0n);
    const role = (await w.state()).roles.find((r) => r.name === 'plain')!.id;
    const set = (command: string, value: string) =>
      w.command(w.ownerId, 'permissions', [{ type: 1, name: 'set', options: [{ type: 3, name: 'command', value: command }, { type: 8, name: 'role', value: role }, { type: 3, name: 'value', value }] }]);
    assert.match(await w.command(member, 'ping', []), /^Pong!/);
    assert.equal(await set('ping', 'deny'), `/ping: <@&${role}> deny.`);
    assert.equal(await w.command(member, 'ping', []), 'You are not allowed to use /ping here.');
    assert.equal(await w.command(member, 'backups', [{ type: 1, name: 'list' }]), 'You are not allowed to use /backups here.');
    assert.equal(await w.command(member, 'limits', [{ type: 1, name: 'list' }]), 'You are not allowed to use /limits here.');
    await set('limits', 'allow');
    assert.match(await w.command(member, 'limits', [{ type: 1, name: 'list' }]), /^#1: more than 2 channel_create/);
  });
});
