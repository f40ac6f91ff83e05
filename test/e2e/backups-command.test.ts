// /backups from a sim user, through the bot cluster and the jobserver. Guards of issue #12: only
// the owner of both servers may restore a backup of another server, and each error is worded for
// the user (no raw jobserver or Postgres text).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase, uniqueName } from '../helpers/services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
type SimGuild = { id: string; owner_id: string; channels: { id: string; name: string }[] };

describe('/backups bot commands', () => {
  let sim: Running;
  let jobs: Running;
  let web: Running;
  let simUrl: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let jobsUrl: string;
  let guild: SimGuild;
  let other: SimGuild;

  const interact = async (userId: string, options: unknown[], where: SimGuild = guild) => {
    const general = where.channels.find((c) => c.name === 'general')!;
    const res = await fetch(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guild_id: where.id, channel_id: general.id, user_id: userId, command_name: 'backups', options }),
    });
    return ((await res.json()) as { id: string }).id;
  };
  const responses = async (id: string) => (await (await fetch(`${simUrl}/_sim/interactions/${id}`)).json()) as { original: { content: string; edited_timestamp: string | null } | null };
  /** The reply once it matches `until`; fails with the last reply seen after `timeoutMs`. */
  const reply = async (id: string, until: RegExp, timeoutMs = 30_000) => {
    let content: string | undefined;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
      content = (await responses(id)).original?.content;
      if (content && until.test(content)) return content;
    }
    assert.fail(`no reply matching ${until} within ${timeoutMs} ms; last: ${content}`);
  };
  const restore = (backupId: string) => [{ type: 1, name: 'restore', options: [{ type: 3, name: 'backup_id', value: backupId }] }];
  /** A completed backup of `guildId`, made through the jobserver API. */
  const backupOf = async (guildId: string) => {
    const headers = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };
    const { task_id } = (await (await fetch(`${jobsUrl}/tasks`, { method: 'POST', headers, body: JSON.stringify({ name: 'guild_create_backup', for: guildId, data: { messages_per_channel: 2 } }) })).json()) as { task_id: string };
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      const task = (await (await fetch(`${jobsUrl}/tasks/${task_id}`, { headers })).json()) as { state: string };
      if (task.state === 'completed') return task_id;
      assert.ok(['pending', 'running'].includes(task.state) && Date.now() < deadline, `backup of ${guildId}: ${JSON.stringify(task)}`);
    }
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--max-concurrency', '1', '--identify-interval-ms', '0', '--rest-limit', '1000']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    [guild, other] = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[] as [SimGuild, SimGuild];
    assert.notEqual(guild.owner_id, other.owner_id, 'two guilds of two owners');
    db = await createTestDatabase();
    const [jobsPort, apiPort] = [await freePort(), await freePort()];
    jobsUrl = `http://127.0.0.1:${jobsPort}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': jobsPort, 'meta.jobserver_url': `http://127.0.0.1:${jobsPort}`,
      'meta.port': apiPort, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_backups'),
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')),
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
    web = start(['webserver', '--config', path]);
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/clusters`).then((r) => r.json() as Promise<{ clusters: { state: string }[] }>).catch(() => undefined);
      if (res?.clusters.length && res.clusters.every((c) => c.state === 'up')) break;
      assert.ok(Date.now() < deadline, `clusters not up within 60 s: ${JSON.stringify(res)}`);
    }
  });

  after(async () => {
    await web?.stop();
    await jobs?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('a member with Manage Server runs /backups create and sees progress, then the result', async () => {
    const id = await interact(guild.owner_id, [{ type: 1, name: 'create', options: [{ type: 4, name: 'messages', value: 5 }] }]);
    const seen = new Set<string>();
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      const content = (await responses(id)).original?.content;
      if (content) seen.add(content);
      if (content && /\*\*completed\*\*/.test(content)) break;
    }
    const final = [...seen].at(-1)!;
    assert.match(final, /^Backup `[0-9a-f-]{36}`: \*\*completed\*\*: backup complete: \d+ roles, \d+ channels, \d+ messages; skipped 1 channel\(s\) the bot cannot read: #mod-only$/);
    assert.ok(seen.size >= 2, `progress was shown before the result: ${[...seen].join(' | ')}`);
  });

  it('refuses a member without Manage Server', async () => {
    const state = (await (await fetch(`${simUrl}/_sim/guilds/${guild.id}/state`)).json()) as { members: { user: { id: string; bot?: boolean }; roles: string[] }[] };
    const plain = state.members.find((m) => !m.user.bot && m.roles.length === 0 && m.user.id !== guild.owner_id)!;
    const id = await interact(plain.user.id, [{ type: 1, name: 'list', options: [] }]);
    assert.equal(await reply(id, /./), 'You are not allowed to use /backups here.');
  });

  it('words a wrong backup id for the user', async () => {
    for (const bad of ['not-an-id', '00000000-0000-4000-8000-000000000000']) {
      const id = await interact(guild.owner_id, restore(bad));
      assert.equal(await reply(id, /./), 'That is not a completed backup: copy an id from /backups list.', bad);
    }
  });

  it('restores a backup of another server only for the owner of both', async () => {
    const backupId = await backupOf(other.id);
    // The owner of this server does not own the other one: refused by the bot.
    const refused = await interact(guild.owner_id, restore(backupId));
    assert.equal(await reply(refused, /./), 'Only the owner of both servers can restore a backup of another server.');
    // The other server's owner, in a new server of theirs: restored.
    const mine = (await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Their New Server', owner_id: other.owner_id, populated: true }) })).json()) as { id: string };
    const created = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[]).find((g) => g.id === mine.id)!;
    const allowed = await interact(other.owner_id, restore(backupId), created);
    assert.match(await reply(allowed, /\*\*(completed|failed)\*\*/, 120_000), /^Restore `[0-9a-f-]{36}`: \*\*completed\*\*: restore complete/);
  });
});
