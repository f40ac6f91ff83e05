// Anti-nuke limits end to end: sim users delete channels through REST (/_sim/act, with their own
// permissions); the bot counts the GUILD_AUDIT_LOG_ENTRY_CREATE dispatches against a rule set
// with /limits and punishes through REST, as a case posted to the mod log. What is checked is
// the sim's state (bans, messages, audit log) and the cases table, not the bot's word.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLogEvent } from 'discord-api-types/v10';
import { type AntiraidWorld, type AuditEntry, eventually, startAntiraid } from '../helpers/antiraid';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MANAGE_CHANNELS = 1n << 4n;
const snowflakeTime = (id: string) => Number((BigInt(id) >> 22n) + 1420070400000n);
type CaseRow = { number: number; action: string; target_id: string; state: string; error: string | null };

describe('anti-nuke limits (sim -> proxy -> bot, Postgres, Redis)', () => {
  let w: AntiraidWorld;
  let modlog: string;
  const limits = (options: unknown[]) => w.command(w.ownerId, 'limits', options);
  const channels = async (count: number, prefix: string) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(((await (await w.act(w.ownerId, 'POST', `/guilds/${w.guildId}/channels`, { name: `${prefix}-${i}` })).json()) as { id: string }).id);
    return ids;
  };
  /**
   * Deletes the channels as `userId`, 5 in about 3 s (a banned user's later deletions fail, as on
   * Discord); returns the audit entries of the deletions.
   */
  const nuke = async (userId: string, ids: string[]) => {
    let done = 0;
    for (const [i, id] of ids.entries()) {
      if ((await w.act(userId, 'DELETE', `/channels/${id}`)).ok) done++;
      if (i < ids.length - 1) await sleep(600);
    }
    const entries = (await w.state()).audit_log.filter((e) => e.action_type === AuditLogEvent.ChannelDelete && e.user_id === userId);
    assert.equal(entries.length, done, 'one audit entry per deletion');
    assert.ok(done >= 4, `${done} deletions went through`);
    return entries.sort((a, b) => snowflakeTime(a.id) - snowflakeTime(b.id));
  };
  const casesOf = async (userId: string) => (await w.pool.query<CaseRow>('select number, action, target_id, state, error from cases where guild_id = $1 and target_id = $2', [w.guildId, userId])).rows;
  const modlogLines = async () => ((await w.state()).messages[modlog] ?? []).map((m) => m.content);

  before(async () => {
    w = await startAntiraid();
    modlog = ((await (await w.act(w.ownerId, 'POST', `/guilds/${w.guildId}/channels`, { name: 'mod-log' })).json()) as { id: string }).id;
    assert.equal(await w.command(w.ownerId, 'settings', [{ type: 1, name: 'modlog', options: [{ type: 7, name: 'channel', value: modlog }] }]), `Cases are posted to <#${modlog}>.`);
    const add = [{ type: 1, name: 'add', options: [
      { type: 3, name: 'kind', value: 'channel_delete' }, { type: 4, name: 'count', value: 3 }, { type: 4, name: 'seconds', value: 10 }, { type: 3, name: 'punishment', value: 'ban' },
    ] }];
    assert.equal(await limits(add), 'Rule #1: more than 3 channel_delete within 10s -> ban.');
  });

  after(() => w?.stop());

  it('bans a member who deletes 5 channels in 3 s within 2 s of the 4th deletion, as a case in the mod log', async (t) => {
    const raider = await w.member('raider', MANAGE_CHANNELS);
    const deletions = await nuke(raider, await channels(5, 'doomed'));
    let banEntry: AuditEntry | undefined;
    for (const deadline = Date.now() + 15_000; !banEntry && Date.now() < deadline; await sleep(100)) {
      banEntry = (await w.state()).audit_log.find((e) => e.action_type === AuditLogEvent.MemberBanAdd && e.target_id === raider);
    }
    assert.ok(banEntry, 'the raider was banned');
    const latency = snowflakeTime(banEntry.id) - snowflakeTime(deletions[3]!.id);
    t.diagnostic(`4th deletion's audit entry -> ban's audit entry: ${latency} ms`);
    assert.ok(latency >= 0 && latency < 2_000, `banned ${latency} ms after the 4th deletion's audit entry`);
    assert.ok((await w.state()).bans.some((b) => b.user.id === raider));
    // The case is recorded and reported just after the ban itself.
    const cases = await eventually('the case recorded', async () => ((await casesOf(raider)).length ? casesOf(raider) : undefined));
    assert.deepEqual(cases.map((c) => [c.action, c.state]), [['ban', 'applied']], 'exactly one case, applied');
    await eventually('the case in the mod log', async () => (await modlogLines()).find((l) => l.startsWith(`Case #${cases[0]!.number}: ban of <@${raider}>`) && !l.includes('FAILED')), 15_000, () => `mod log: ${w.output()}`);
  });

  it('leaves an exempt member alone', async () => {
    const trusted = await w.member('trusted', MANAGE_CHANNELS);
    assert.equal(await limits([{ type: 1, name: 'exempt_add', options: [{ type: 9, name: 'target', value: trusted }] }]), `<@${trusted}> is exempt from the limits.`);
    assert.equal((await nuke(trusted, await channels(5, 'trusted'))).length, 5);
    await sleep(3_000);
    const s = await w.state();
    assert.ok(!s.bans.some((b) => b.user.id === trusted), 'not banned');
    assert.deepEqual(await casesOf(trusted), [], 'no case');
  });

  it('reports, and does not punish, a member above the bot', async () => {
    const high = await w.member('high', MANAGE_CHANNELS, 100);
    const roles = (await w.state()).roles;
    const bot = roles.find((r) => r.managed)!;
    assert.ok(roles.find((r) => r.name === 'high')!.position > bot.position, 'the role is above the bot');
    assert.equal((await nuke(high, await channels(5, 'high'))).length, 5);
    const cases = await eventually('the case recorded', async () => ((await casesOf(high)).length ? casesOf(high) : undefined));
    assert.deepEqual(cases.map((c) => [c.action, c.state]), [['ban', 'failed']]);
    assert.match(cases[0]!.error ?? '', /at or above the bot/);
    assert.ok(!(await w.state()).bans.some((b) => b.user.id === high), 'not banned');
    await eventually('the failed case in the mod log', async () => (await modlogLines()).find((l) => l.startsWith(`Case #${cases[0]!.number}: ban of <@${high}>`) && l.includes('FAILED')), 15_000, () => `mod log: ${w.output()}`);
  });
});
