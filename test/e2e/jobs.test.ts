// `./splashtail jobs` against the sim and real Postgres: auth, validation, backup, restore,
// and kill -9 in the middle of both. Guards of issue #12: skipped channels reported ("backs up a
// guild"), restore into the source guild ("restores a guild into itself"), data schemas ("answers
// malformed bodies", "documents every task kind"), the password ("never answers ... the password"),
// owner of both guilds ("refuses a restore across guilds"), permissions the bot lacks and webhook
// avatars ("restores into an empty guild", "... without Manage Roles"), replays of another backup
// ("restoring another backup ... posts nothing again"), the take-over ("kill -9 mid-restore").
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';
import { sign } from '../../jobs/storage';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const SIGNING_SECRET = 'jobs-test-signing-secret-0123456789abcdef';
const PASSWORD = 'correct-horse-battery-staple-7f3a';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TaskView {
  task_id: string;
  state: string;
  data: Record<string, unknown>;
  statuses: { msg: string; level: string; worker?: string; channel_id?: string }[];
  output: { filename: string } | null;
}
interface GuildState {
  channels: { id: string; name: string; type: number; parent_id: string | null; permission_overwrites: { id: string; type: number; allow: string; deny: string }[] }[];
  roles: { id: string; name: string; permissions: string; managed: boolean; position: number }[];
  messages: Record<string, { id: string; content: string; webhook_id?: string; author: { username: string; avatar: string | null } }[]>;
}

describe('jobserver (sim + Postgres)', () => {
  let sim: Running;
  let jobs: Running;
  let simUrl: string;
  let api: string;
  let configPath: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let source: { id: string; owner_id: string };
  const auth = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const state = async (guildId: string) => (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as GuildState;
  const startJobs = async () => {
    const p = start(['jobs', '--config', configPath]);
    await p.waitFor(/jobserver listening/);
    return p;
  };
  const waitTask = async (id: string, until: (t: TaskView) => boolean = (t) => !['pending', 'running'].includes(t.state), timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await call('GET', `/tasks/${id}`);
      if (until(body)) return body as TaskView;
      if (Date.now() > deadline) throw new Error(`task ${id} stuck: ${JSON.stringify(body).slice(0, 800)}`);
      await sleep(100);
    }
  };
  /** A guild owned by the source guild's owner (who may then restore its backups there). */
  const newGuild = async (name: string, ownerId = source.owner_id) =>
    ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, owner_id: ownerId }) })).json()) as { id: string }).id;
  const createTask = async (name: string, guild: string, data: Record<string, unknown> = {}) => {
    const { status, body } = await call('POST', '/tasks', { name, for: guild, data });
    assert.equal(status, 201, JSON.stringify(body));
    return body.task_id as string;
  };
  const archive = async (taskId: string) => {
    const { body } = await call('GET', `/tasks/${taskId}/download-url`);
    const res = await fetch(body.url);
    assert.equal(res.status, 200);
    return (await res.json()) as { backup: { roles: GuildState['roles']; channels: GuildState['channels']; messages: Record<string, { content: string }[]>; meta: Record<string, unknown> & { skipped_channels?: unknown } } };
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '2', '--shards', '1', '--rest-limit', '8', '--seed', '9']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    source = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string }[])[0]!;
    db = await createTestDatabase();
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    configPath = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'sites.cdn': `${simUrl}/cdn`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')), 'object_storage.signing_secret': SIGNING_SECRET, 'jobs.lease_seconds': 5, 'jobs.rest_timeout_seconds': 3,
    }).path;
    jobs = await startJobs();
  });

  after(async () => {
    await jobs?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('answers 401 alike for a wrong secret and an unknown client', async () => {
    const wrong = await call('GET', `/entities/${source.id}/tasks`, undefined, { authorization: 'bot wrong-secret' });
    const unknown = await call('GET', `/entities/${source.id}/tasks`, undefined, { authorization: `nobody ${SECRET}` });
    const none = await call('GET', `/entities/${source.id}/tasks`, undefined, {});
    assert.deepEqual([wrong.status, unknown.status, none.status], [401, 401, 401]);
    assert.deepEqual(wrong.body, unknown.body);
    // Client names are looked up as own keys: Object.prototype's names are unknown clients, not a 500.
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.equal((await call('GET', `/entities/${source.id}/tasks`, undefined, { authorization: `${name} x` })).status, 401, name);
    }
    assert.equal((await fetch(`${api}/docs/json`)).status, 200, 'OpenAPI at /docs');
  });

  it('answers malformed bodies with 400 naming the field', async () => {
    const bad: [unknown, RegExp][] = [
      ['{', /JSON/i], ['[]', /body/], ['null', /body/], ['"x"', /body/], [{}, /name/], [{ name: 'guild_create_backup' }, /for/],
      [{ name: 'nope', for: '1' }, /name/], [{ name: 5, for: '1' }, /name/], [{ name: 'guild_create_backup', for: 'abc' }, /for/],
      [{ name: 'guild_create_backup', for: '1', data: 'x' }, /data/], [{ name: 'guild_create_backup', for: '1', execute: 'yes' }, /execute/],
      [{ name: 'guild_create_backup', for: '1', expiry_seconds: 5 }, /expiry_seconds/], [{ name: 'guild_create_backup', for: '1', extra: 1 }, /extra|additional/],
      [{ name: 'guild_restore_backup', for: '1', data: {} }, /backup_task_id/], [{ name: 'guild_create_backup', for: 'g/' }, /for/],
      [{ name: 'guild_create_backup', for: '1'.repeat(30) }, /for/], [{ name: null, for: '1' }, /name/], [{ name: 'guild_create_backup', for: {} }, /for/],
      [{ name: 'guild_create_backup', for: '1', expiry_seconds: 'soon' }, /expiry_seconds/], [{ name: 'guild_create_backup', for: ['1', '2'] }, /for/],
      // Each kind's data against its own schema.
      [{ name: 'guild_create_backup', for: '1', data: { messages_per_channel: 'lots' } }, /body\/data\/messages_per_channel/],
      [{ name: 'guild_create_backup', for: '1', data: { messages_per_channel: -1 } }, /body\/data\/messages_per_channel/],
      [{ name: 'guild_create_backup', for: '1', data: { mesages_per_channel: 5 } }, /mesages_per_channel/],
      [{ name: 'guild_create_backup', for: '1', data: { backup_guild_assets: ['icon', 'avatar'] } }, /body\/data\/backup_guild_assets/],
      [{ name: 'guild_create_backup', for: '1', data: { special_allocations: { general: 5 } } }, /body\/data\/special_allocations/],
      [{ name: 'guild_create_backup', for: '1', data: { password: '' } }, /body\/data\/password/],
      [{ name: 'guild_restore_backup', for: '1', data: { backup_task_id: '00000000-0000-0000-0000-000000000000', channel_mode: 'wipe' } }, /body\/data\/channel_mode/],
      [{ name: 'guild_restore_backup', for: '1' }, /body\/data/],
    ];
    for (const [body, pattern] of bad) {
      const res = await call('POST', '/tasks', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.status}`);
      assert.match(res.body.error, pattern, JSON.stringify(body));
    }
    assert.equal((await call('GET', '/tasks/not-a-uuid')).status, 400);
    assert.equal((await call('GET', `/entities/abc/tasks`)).status, 400);
  });

  it('documents every task kind: one data schema each, and a summary for every route', async () => {
    const doc = (await (await fetch(`${api}/docs/json`)).json()) as { paths: Record<string, Record<string, { summary?: string; requestBody?: { content: Record<string, { schema: { anyOf?: { title: string; properties: { data: { properties: Record<string, unknown> } } }[] } }> } }>> };
    for (const [path, methods] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(methods)) assert.ok(op.summary, `${method} ${path} has a summary`);
    const kinds = doc.paths['/tasks']!.post!.requestBody!.content['application/json']!.schema.anyOf!;
    assert.deepEqual(kinds.map((k) => k.title), ['guild_create_backup', 'guild_restore_backup', 'guild_member_restore']);
    assert.ok('messages_per_channel' in kinds[0]!.properties.data.properties);
    assert.ok('backup_task_id' in kinds[1]!.properties.data.properties);
  });

  it('never answers, nor logs, the password of a task', async () => {
    const id = await createTask('guild_create_backup', source.id, { messages_per_channel: 1, password: PASSWORD });
    const created = await call('GET', `/tasks/${id}`);
    const listed = await call('GET', `/entities/${source.id}/tasks`);
    const done = await waitTask(id);
    assert.equal(done.state, 'completed', JSON.stringify(done.statuses));
    for (const answer of [created.body, listed.body, done]) assert.ok(!JSON.stringify(answer).includes(PASSWORD), JSON.stringify(answer).slice(0, 300));
    assert.equal(done.data.messages_per_channel, 1, 'the rest of data is shown');
    assert.ok(!jobs.output().includes(PASSWORD), 'not in the log');
  });

  it('fails a task for a guild the bot is not in with a clear status', async () => {
    const task = await waitTask(await createTask('guild_create_backup', '123456789012345678'));
    assert.equal(task.state, 'failed');
    assert.match(task.statuses.at(-1)!.msg, /the bot is not in guild 123456789012345678/);
  });

  let backupId: string;
  it('backs up a guild: every role, channel, overwrite and the requested messages', async () => {
    backupId = await createTask('guild_create_backup', source.id, { messages_per_channel: 10 });
    const task = await waitTask(backupId);
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    const { backup } = await archive(backupId);
    const live = await state(source.id);
    assert.deepEqual(backup.roles.map((r) => r.id).sort(), live.roles.map((r) => r.id).sort());
    assert.deepEqual(backup.channels.map((c) => [c.id, c.permission_overwrites]).sort(), live.channels.map((c) => [c.id, c.permission_overwrites]).sort());
    const general = live.channels.find((c) => c.name === 'general')!;
    assert.deepEqual(backup.messages[general.id]!.map((m) => m.content), live.messages[general.id]!.slice(-10).map((m) => m.content));
    // #mod-only denies the bot View Channel: reported, not saved as an empty channel.
    const modOnly = live.channels.find((c) => c.name === 'mod-only')!;
    assert.ok(!(modOnly.id in backup.messages), 'no message list for a channel that could not be read');
    const skipped = [{ id: modOnly.id, name: 'mod-only', reason: 'the bot cannot view it (Discord: 50001 Missing Access)' }];
    assert.deepEqual(backup.meta.skipped_channels, skipped, 'in the archive');
    assert.deepEqual((task.output as { skipped_channels?: unknown }).skipped_channels, skipped, "in the task's output");
    assert.ok(task.statuses.some((s) => s.level === 'warning' && s.channel_id === modOnly.id && /skipped #mod-only: the bot cannot view it/.test(s.msg)), JSON.stringify(task.statuses));
    assert.match(task.statuses.at(-1)!.msg, /skipped 1 channel\(s\) the bot cannot read: #mod-only$/);
    // A link signed correctly but expired is refused for its expiry; a bad signature for its signature.
    const past = Date.now() - 1;
    const expired = await fetch(`${api}/download/${backupId}?expires=${past}&signature=${sign(SIGNING_SECRET, backupId, past)}`);
    assert.deepEqual([expired.status, await expired.json()], [403, { error: 'download link expired' }]);
    const forged = await fetch(`${api}/download/${backupId}?expires=${Date.now() + 60_000}&signature=${sign('another-secret', backupId, Date.now() + 60_000)}`);
    assert.deepEqual([forged.status, await forged.json()], [403, { error: 'download link bad signature' }]);
  });

  it('restores a guild into itself without duplicating anything', async () => {
    const before = await state(source.id);
    const task = await waitTask(await createTask('guild_restore_backup', source.id, { backup_task_id: backupId }));
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    assert.match(task.statuses.at(-1)!.msg, / 0 messages replayed$/);
    const after = await state(source.id);
    const ids = (s: GuildState) => [s.roles.map((r) => r.id).sort(), s.channels.map((c) => c.id).sort(), Object.fromEntries(Object.entries(s.messages).map(([c, list]) => [c, list.map((m) => m.id)]))];
    assert.deepEqual(ids(after), ids(before));
  });

  it('refuses a restore across guilds unless the user asking owns both', async () => {
    const stranger = ((await (await fetch(`${simUrl}/_sim/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"stranger"}' })).json()) as { id: string }).id;
    const theirs = await newGuild('Not Theirs', stranger);
    const restore = (guild: string, data: Record<string, unknown>) => call('POST', '/tasks', { name: 'guild_restore_backup', for: guild, data: { backup_task_id: backupId, ...data } });
    const anonymous = await restore(theirs, {});
    assert.equal(anonymous.status, 403);
    assert.match(anonymous.body.error, /requested_by is required/);
    for (const [guild, by] of [[theirs, stranger], [theirs, source.owner_id], [await newGuild('Owner Guild'), stranger]] as const) {
      const res = await restore(guild, { requested_by: by });
      assert.deepEqual([res.status, res.body.error], [403, `only the owner of both guilds may restore a backup of guild ${source.id} into guild ${guild}`]);
    }
    assert.equal((await restore('123456789012345678', { requested_by: source.owner_id })).status, 403, 'a guild the bot is not in');
  });

  let targetId: string;
  it('restores into an empty guild, and a second restore changes nothing', async () => {
    targetId = await newGuild('Restore Target');
    const empty = await state(targetId);
    // What the bot holds there: Discord refuses roles and overwrites granting more (50013).
    const held = empty.roles.filter((r) => r.id === targetId || r.managed).reduce((p, r) => p | BigInt(r.permissions), 0n);
    const task = await waitTask(await createTask('guild_restore_backup', targetId, { backup_task_id: backupId, requested_by: source.owner_id }));
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    const from = await state(source.id);
    const to = await state(targetId);
    const roleNames = (s: GuildState) => s.roles.filter((r) => !r.managed && r.name !== '@everyone').map((r) => [r.name, (BigInt(r.permissions) & held).toString()]).sort();
    assert.deepEqual(roleNames(to), roleNames(from));
    assert.equal(to.roles.find((r) => r.name === 'Admin')!.permissions, '0', 'Administrator left out');
    assert.ok(task.statuses.some((s) => s.level === 'warning' && /left out permissions the bot does not hold.*role Admin: Administrator/.test(s.msg)), JSON.stringify(task.statuses));
    // Webhook avatars are CDN URLs built from each author's avatar hash (or their default avatar).
    const avatars = Object.values(to.messages).flat().filter((m) => m.webhook_id).map((m) => m.author.avatar);
    assert.ok(avatars.length > 0);
    for (const avatar of avatars) assert.match(avatar ?? 'null', new RegExp(`^${simUrl}/cdn/(avatars/\\d+/\\w+\\.(png|gif)|embed/avatars/[0-5]\\.png)$`));
    const shape = (s: GuildState) => {
      const names = new Map([...s.channels.map((c) => [c.id, c.name] as const), ...s.roles.map((r) => [r.id, `role:${r.name}`] as const)]);
      return s.channels.map((c) => [c.name, c.type, c.parent_id ? names.get(c.parent_id) : null, c.permission_overwrites.map((o) => [names.get(o.id) ?? 'everyone', o.allow, o.deny]).sort()]).sort();
    };
    const everyoneAsName = (s: GuildState, guildId: string) => ({ ...s, roles: s.roles.map((r) => (r.id === guildId ? { ...r, name: '@everyone' } : r)) });
    assert.deepEqual(shape(everyoneAsName(to, targetId)), shape(everyoneAsName(from, source.id)));
    const contents = (s: GuildState) => s.channels.filter((c) => c.type === 0).map((c) => [c.name, (s.messages[c.id] ?? []).map((m) => m.content)]).sort();
    const backedUp = (await archive(backupId)).backup;
    const expected = from.channels.filter((c) => c.type === 0).map((c) => [c.name, (backedUp.messages[c.id] ?? []).map((m) => m.content)]).sort();
    assert.deepEqual(contents(to), expected);

    const again = await waitTask(await createTask('guild_restore_backup', targetId, { backup_task_id: backupId, requested_by: source.owner_id }));
    assert.equal(again.state, 'completed');
    assert.deepEqual(await state(targetId).then((s) => [s.roles.length, s.channels.length, contents(s)]), [to.roles.length, to.channels.length, contents(to)]);
  });

  it('kill -9 mid-backup: a restarted jobserver completes it with the same archive', async () => {
    const id = await createTask('guild_create_backup', source.id, { messages_per_channel: 10 });
    await waitTask(id, (t) => t.state === 'running', 10_000);
    await jobs.stop('SIGKILL');
    jobs = await startJobs();
    const task = await waitTask(id);
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    assert.ok(task.statuses.some((s) => /taken over/.test(s.msg)), 'resumed from its checkpoint');
    const interrupted = (await archive(id)).backup;
    const clean = (await archive(backupId)).backup;
    assert.deepEqual({ ...interrupted, meta: { ...interrupted.meta, created_at: 0 } }, { ...clean, meta: { ...clean.meta, created_at: 0 } });
  });

  it('restoring another backup of the same guild into a guild already restored posts nothing again', async () => {
    const before = await state(targetId);
    const other = await waitTask(await createTask('guild_create_backup', source.id, { messages_per_channel: 10 }));
    assert.equal(other.state, 'completed', JSON.stringify(other.statuses));
    const task = await waitTask(await createTask('guild_restore_backup', targetId, { backup_task_id: other.task_id, requested_by: source.owner_id }));
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    assert.match(task.statuses.at(-1)!.msg, / 0 messages replayed$/);
    const ids = (s: GuildState) => Object.fromEntries(Object.entries(s.messages).map(([c, list]) => [c, list.map((m) => m.id)]));
    assert.deepEqual(ids(await state(targetId)), ids(before));
  });

  it('kill -9 mid-restore: the restarted jobserver finishes without duplicating anything', async () => {
    const target = await newGuild('Second Target');
    const id = await createTask('guild_restore_backup', target, { backup_task_id: backupId, requested_by: source.owner_id });
    await waitTask(id, (t) => t.statuses.some((s) => /restored \d+ channels/.test(s.msg)));
    const killed = (await (await fetch(`${api}/healthz`)).json()) as { worker: string };
    await jobs.stop('SIGKILL');
    jobs = await startJobs();
    const successor = (await (await fetch(`${api}/healthz`)).json()) as { worker: string };
    const task = await waitTask(id);
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    // The restarted jobserver, not the killed one, took it over after the lease and finished it.
    assert.notEqual(successor.worker, killed.worker);
    assert.equal(task.statuses.find((s) => s.msg === 'started')?.worker, killed.worker);
    assert.ok(task.statuses.some((s) => /^taken over after its lease expired/.test(s.msg) && s.worker === successor.worker), JSON.stringify(task.statuses));
    assert.match(await (await fetch(`${api}/metrics`)).text(), /jobs_tasks_finished_total\{name="guild_restore_backup",state="completed",service="jobs"\} 1\b/);
    const [once, twice] = [await state(targetId), await state(target)];
    const count = (s: GuildState) => [s.roles.length, s.channels.length, Object.values(s.messages).flat().length];
    assert.deepEqual(count(twice), count(once));
  });

  it('keeps attachments and guild assets, honours special allocations and rollover, and restores the icon', async () => {
    const bot = { authorization: 'Bot MTAwMDAwMDAwMDAwMDAwMDAwMQ.c2lt.c3BsYXNodGFpbC1zaW0tdG9rZW4tZm9yLWRldmVsb3BtZW50', 'content-type': 'application/json' };
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const icon = `data:image/png;base64,${png.toString('base64')}`;
    assert.equal((await fetch(`${simUrl}/api/v10/guilds/${source.id}`, { method: 'PATCH', headers: bot, body: JSON.stringify({ icon }) })).status, 200);
    const quiet = (await (await fetch(`${simUrl}/api/v10/guilds/${source.id}/channels`, { method: 'POST', headers: bot, body: JSON.stringify({ name: 'quiet', position: -1 }) })).json()) as { id: string };
    const live = await state(source.id);
    const general = live.channels.find((c) => c.name === 'general')!;
    const offTopic = live.channels.find((c) => c.name === 'off-topic')!;
    const posted = (await (await fetch(`${simUrl}/_sim/guilds/${source.id}/channels/${general.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'evidence attached', attachments: [{ filename: 'raid.txt', content_type: 'text/plain', data: Buffer.from('raider ids').toString('base64') }] }),
    })).json()) as { attachments: { id: string }[] };

    const id = await createTask('guild_create_backup', source.id, {
      messages_per_channel: 3, rollover_leftovers: true, special_allocations: { [offTopic.id]: 1 }, backup_attachments: true, backup_guild_assets: true,
    });
    const task = await waitTask(id);
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    const { backup } = (await archive(id)) as unknown as { backup: { messages: Record<string, unknown[]>; attachments: Record<string, { filename: string; data: string }>; assets: { icon: string } } };
    assert.equal(backup.messages[quiet.id]!.length, 0);
    assert.equal(backup.messages[general.id]!.length, 6, 'the empty channel rolled its 3 over to the next');
    assert.equal(backup.messages[offTopic.id]!.length, 1, 'special allocation');
    const attachment = backup.attachments[posted.attachments[0]!.id]!;
    assert.deepEqual([attachment.filename, Buffer.from(attachment.data, 'base64').toString()], ['raid.txt', 'raider ids']);
    assert.equal(backup.assets.icon, icon);

    const target = await newGuild('Icon Target');
    const restored = await waitTask(await createTask('guild_restore_backup', target, { backup_task_id: id, requested_by: source.owner_id }));
    assert.equal(restored.state, 'completed', JSON.stringify(restored.statuses));
    // The restore's last calls may have used this second's requests (--rest-limit 8): wait out a 429.
    let read: Response;
    while ((read = await fetch(`${simUrl}/api/v10/guilds/${target}`, { headers: bot })).status === 429) await sleep(200);
    const guild = (await read.json()) as { icon: string };
    const served = Buffer.from(await (await fetch(`${simUrl}/cdn/icons/${target}/${guild.icon}.png`)).arrayBuffer());
    assert.deepEqual(served, png);
  });
  it('restores a channel overwrite granting Manage Roles without it (only administrators may set it)', async () => {
    const guild = ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Staff Guild', owner_id: source.owner_id, populated: true }) })).json()) as { id: string }).id;
    const moderator = (await state(guild)).roles.find((r) => r.name === 'Moderator')!;
    const [manageRoles, view] = [1n << 28n, 1n << 10n];
    const act = await fetch(`${simUrl}/_sim/act`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: source.owner_id, method: 'POST', path: `/guilds/${guild}/channels`, body: { name: 'staff', permission_overwrites: [{ id: moderator.id, type: 0, allow: String(manageRoles | view), deny: '0' }] } }),
    });
    assert.equal(act.status, 201, await act.text());
    const backup = await waitTask(await createTask('guild_create_backup', guild, { messages_per_channel: 1 }));
    assert.equal(backup.state, 'completed', JSON.stringify(backup.statuses));
    const target = await newGuild('Staff Target');
    const task = await waitTask(await createTask('guild_restore_backup', target, { backup_task_id: backup.task_id, requested_by: source.owner_id }));
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    const restored = await state(target);
    const staff = restored.channels.find((c) => c.name === 'staff')!;
    const mod = restored.roles.find((r) => r.name === 'Moderator')!;
    assert.deepEqual(staff.permission_overwrites.find((o) => o.id === mod.id), { id: mod.id, type: 0, allow: String(view), deny: '0' });
    assert.ok(task.statuses.some((s) => s.level === 'warning' && /#staff overwrite for role Moderator \(allow\): ManageRoles/.test(s.msg)), JSON.stringify(task.statuses));
  });
});
