// Fenced tasks: a jobserver paused (SIGSTOP) past its lease in the middle of a restore, while
// another takes the task over, wakes up (SIGCONT) and sends nothing more to Discord. Counted on
// the sim's side: the restored guild has each role, channel and message exactly once.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const BOT = { authorization: 'Bot MTAwMDAwMDAwMDAwMDAwMDAwMQ.c2lt.c3BsYXNodGFpbC1zaW0tdG9rZW4tZm9yLWRldmVsb3BtZW50', 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TaskView {
  task_id: string;
  state: string;
  statuses: { msg: string; worker?: string }[];
}
interface GuildState {
  channels: { id: string; name: string; type: number; parent_id: string | null }[];
  roles: { id: string; name: string; managed: boolean }[];
  messages: Record<string, { content: string; webhook_id?: string }[]>;
}

describe('jobserver fencing (two jobservers, SIGSTOP past the lease)', () => {
  let sim: Running;
  let simUrl: string;
  let api: string;
  let objects: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sourceId: string;
  let ownerId: string;
  let backupId: string;
  const processes: Running[] = [];
  const headers = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as TaskView & { task_id: string } };
  };
  const state = async (guildId: string) => (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as GuildState;
  /** A jobserver on a port of its own; the API calls go to the newest one (a paused one would not answer). */
  const startJobs = async () => {
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'sites.cdn': `${simUrl}/cdn`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': objects, 'jobs.lease_seconds': 5, 'jobs.rest_timeout_seconds': 3,
    });
    const p = start(['jobs', '--config', path]);
    processes.push(p);
    await p.waitFor(/jobserver listening/);
    return p;
  };
  const waitTask = async (id: string, until: (t: TaskView) => boolean, what: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await call('GET', `/tasks/${id}`);
      if (until(body)) return body;
      if (Date.now() > deadline) throw new Error(`task ${id}: timed out waiting for ${what}: ${JSON.stringify(body).slice(0, 1500)}`);
      await sleep(100);
    }
  };
  const ended = (t: TaskView) => !['pending', 'running'].includes(t.state);
  const sim429 = async (path: string, body: unknown) => {
    for (const deadline = Date.now() + 30_000; ; await sleep(400)) {
      const res = await fetch(`${simUrl}/api/v10${path}`, { method: 'POST', headers: BOT, body: JSON.stringify(body) });
      if (res.status !== 429) return (await res.json()) as { id: string };
      assert.ok(Date.now() < deadline, `POST ${path} still rate limited after 30 s`);
    }
  };

  before(async () => {
    // 3 requests per second per bucket: a restore takes long enough to be paused in the middle.
    sim = start(['sim', '--port', String(await freePort()), '--guilds', '1', '--shards', '1', '--rest-limit', '3', '--seed', '11']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    ({ id: sourceId, owner_id: ownerId } = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string }[])[0]!);
    // A bigger guild than the generated one: more roles and channels to restore.
    for (let i = 0; i < 10; i++) await sim429(`/guilds/${sourceId}/roles`, { name: `team-${i}` });
    const category = await sim429(`/guilds/${sourceId}/channels`, { name: 'Projects', type: 4, position: 2 });
    for (let i = 0; i < 10; i++) await sim429(`/guilds/${sourceId}/channels`, { name: `project-${i}`, type: 0, parent_id: category.id, position: i });

    db = await createTestDatabase();
    objects = mkdtempSync(join(tmpdir(), 'st-objects-'));
    const first = await startJobs();
    const created = await call('POST', '/tasks', { name: 'guild_create_backup', for: sourceId, data: { messages_per_channel: 8 } });
    backupId = created.body.task_id;
    const backup = await waitTask(backupId, ended, 'the backup');
    assert.equal(backup.state, 'completed', JSON.stringify(backup.statuses));
    await first.stop();
  });

  after(async () => {
    for (const p of processes) {
      p.child.kill('SIGCONT');
      await p.stop();
    }
    await sim?.stop();
    await db?.drop();
  });

  // Each pause point leaves work the paused jobserver had queued or in flight.
  const pausePoints: [string, (task: TaskView, target: GuildState) => boolean][] = [
    ['while it creates roles', (task) => task.statuses.some((s) => /restored guild settings/.test(s.msg))],
    ['while it replays messages', (_task, target) => Object.values(target.messages).flat().filter((m) => m.webhook_id).length >= 3],
  ];
  for (const [when, reached] of pausePoints) {
    it(`paused ${when}: the task completes once, the guild has nothing twice, and the paused jobserver logs it lost the lease`, async (t) => {
      const target = ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `Target ${when}`, owner_id: ownerId }) })).json()) as { id: string }).id;
      const a = await startJobs();
      const id = (await call('POST', '/tasks', { name: 'guild_restore_backup', for: target, data: { backup_task_id: backupId, requested_by: ownerId } })).body.task_id;
      for (let deadline = Date.now() + 60_000; ; await sleep(100)) {
        const { body } = await call('GET', `/tasks/${id}`);
        if (reached(body, await state(target))) break;
        assert.ok(!ended(body) && Date.now() < deadline, `did not get ${when}: ${JSON.stringify(body.statuses)}`);
      }
      await sleep(500); // into the step, with a mutation queued behind the rate limit
      assert.ok(a.child.kill('SIGSTOP'));
      const b = await startJobs();
      const bWorker = `${hostname()}:${b.child.pid}`;
      t.after(async () => {
        a.child.kill('SIGCONT');
        await Promise.all([a.stop(), b.stop()]); // a failed run must not leave them to take the next test's task
      });
      try {
        const done = await waitTask(id, ended, 'completion by the second jobserver');
        assert.equal(done.state, 'completed', JSON.stringify(done.statuses));
        assert.ok(done.statuses.some((s) => /taken over/.test(s.msg) && s.worker === bWorker), 'the second jobserver took it over');
        assert.equal(done.statuses.filter((s) => /^restore complete/.test(s.msg)).length, 1, 'completed once');
      } finally {
        a.child.kill('SIGCONT');
      }
      await a.waitFor(/lost the lease/, 30_000);
      await a.waitFor(/task stopped/, 30_000);
      await sleep(2_000); // anything the woken jobserver still had queued would reach the sim by now
      assert.equal(a.child.exitCode, null, 'the woken jobserver is still running');

      const [from, to] = [await state(sourceId), await state(target)];
      const roleNames = (s: GuildState) => s.roles.filter((r) => !r.managed && r.name !== '@everyone' && r.id !== target && r.id !== sourceId).map((r) => r.name).sort();
      assert.deepEqual(roleNames(to), roleNames(from), 'each role once');
      const channels = (s: GuildState) => {
        const names = new Map(s.channels.map((c) => [c.id, c.name]));
        return s.channels.map((c) => `${c.parent_id ? names.get(c.parent_id) : ''}/${c.name}:${c.type}`).sort();
      };
      assert.deepEqual(channels(to), channels(from), 'each channel once');
      const archive = (await (await fetch((await (await fetch(`${api}/tasks/${backupId}/download-url`, { headers })).json() as { url: string }).url)).json()) as { backup: { channels: { id: string; name: string }[]; messages: Record<string, { content: string }[]> } };
      const expected = Object.fromEntries(archive.backup.channels.map((c) => [c.name, (archive.backup.messages[c.id] ?? []).map((m) => m.content).filter(Boolean)]));
      const restored = Object.fromEntries(to.channels.map((c) => [c.name, (to.messages[c.id] ?? []).filter((m) => m.webhook_id).map((m) => m.content)]));
      assert.deepEqual(restored, expected, 'each message once, in order');
    });
  }
});
