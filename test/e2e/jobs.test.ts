// `./splashtail jobs` against the sim and real Postgres: auth, validation, backup, restore,
// and kill -9 in the middle of both.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TaskView {
  task_id: string;
  state: string;
  statuses: { msg: string; level: string }[];
  output: { filename: string } | null;
}
interface GuildState {
  channels: { id: string; name: string; type: number; parent_id: string | null; permission_overwrites: { id: string; type: number; allow: string; deny: string }[] }[];
  roles: { id: string; name: string; permissions: string; managed: boolean; position: number }[];
  messages: Record<string, { content: string; author: { username: string } }[]>;
}

describe('jobserver (sim + Postgres)', () => {
  let sim: Running;
  let jobs: Running;
  let simUrl: string;
  let api: string;
  let configPath: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let source: { id: string };
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
  const createTask = async (name: string, guild: string, data: Record<string, unknown> = {}) => {
    const { status, body } = await call('POST', '/tasks', { name, for: guild, data });
    assert.equal(status, 201, JSON.stringify(body));
    return body.task_id as string;
  };
  const archive = async (taskId: string) => {
    const { body } = await call('GET', `/tasks/${taskId}/download-url`);
    const res = await fetch(body.url);
    assert.equal(res.status, 200);
    return (await res.json()) as { backup: { roles: GuildState['roles']; channels: GuildState['channels']; messages: Record<string, { content: string }[]>; meta: Record<string, unknown> } };
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '2', '--shards', '1', '--rest-limit', '8', '--seed', '9']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    source = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string }[])[0]!;
    db = await createTestDatabase();
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    configPath = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'sites.cdn': `${simUrl}/cdn`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')), 'jobs.lease_seconds': 5, 'jobs.rest_timeout_seconds': 3,
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
    ];
    for (const [body, pattern] of bad) {
      const res = await call('POST', '/tasks', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.status}`);
      assert.match(res.body.error, pattern, JSON.stringify(body));
    }
    assert.equal((await call('GET', '/tasks/not-a-uuid')).status, 400);
    assert.equal((await call('GET', `/entities/abc/tasks`)).status, 400);
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
    const expired = await fetch(`${api}/download/${backupId}?expires=${Date.now() - 1}&signature=x`);
    assert.equal(expired.status, 403);
  });

  let targetId: string;
  it('restores into an empty guild, and a second restore changes nothing', async () => {
    targetId = ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Restore Target"}' })).json()) as { id: string }).id;
    const task = await waitTask(await createTask('guild_restore_backup', targetId, { backup_task_id: backupId }));
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
    const from = await state(source.id);
    const to = await state(targetId);
    const roleNames = (s: GuildState) => s.roles.filter((r) => !r.managed && r.name !== '@everyone').map((r) => [r.name, r.permissions]).sort();
    assert.deepEqual(roleNames(to), roleNames(from));
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

    const again = await waitTask(await createTask('guild_restore_backup', targetId, { backup_task_id: backupId }));
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

  it('kill -9 mid-restore: the restarted jobserver finishes without duplicating anything', async () => {
    const target = ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Second Target"}' })).json()) as { id: string }).id;
    const id = await createTask('guild_restore_backup', target, { backup_task_id: backupId });
    await waitTask(id, (t) => t.statuses.some((s) => /restored \d+ channels/.test(s.msg)));
    await jobs.stop('SIGKILL');
    jobs = await startJobs();
    const task = await waitTask(id);
    assert.equal(task.state, 'completed', JSON.stringify(task.statuses));
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

    const target = ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Icon Target"}' })).json()) as { id: string }).id;
    const restored = await waitTask(await createTask('guild_restore_backup', target, { backup_task_id: id }));
    assert.equal(restored.state, 'completed', JSON.stringify(restored.statuses));
    const guild = (await (await fetch(`${simUrl}/api/v10/guilds/${target}`, { headers: bot })).json()) as { icon: string };
    const served = Buffer.from(await (await fetch(`${simUrl}/cdn/icons/${target}/${guild.icon}.png`)).arrayBuffer());
    assert.deepEqual(served, png);
  });
});
