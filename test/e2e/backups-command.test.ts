// /backups from a sim user, through the bot cluster and the jobserver.
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

describe('/backups bot commands', () => {
  let sim: Running;
  let jobs: Running;
  let web: Running;
  let simUrl: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let guild: { id: string; owner_id: string; channels: { id: string; name: string }[] };

  const interact = async (userId: string, options: unknown[]) => {
    const general = guild.channels.find((c) => c.name === 'general')!;
    const res = await fetch(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guild_id: guild.id, channel_id: general.id, user_id: userId, command_name: 'backups', options }),
    });
    return ((await res.json()) as { id: string }).id;
  };
  const responses = async (id: string) => (await (await fetch(`${simUrl}/_sim/interactions/${id}`)).json()) as { original: { content: string; edited_timestamp: string | null } | null };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--max-concurrency', '1', '--identify-interval-ms', '0', '--rest-limit', '1000']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guild = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as (typeof guild)[])[0]!;
    db = await createTestDatabase();
    const [jobsPort, apiPort] = [await freePort(), await freePort()];
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': jobsPort, 'meta.jobserver_url': `http://127.0.0.1:${jobsPort}`,
      'meta.port': apiPort, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_backups'),
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')),
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
    web = start(['webserver', '--config', path]);
    for (let i = 0; i < 150; i++) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/clusters`).then((r) => r.json() as Promise<{ clusters: { state: string }[] }>).catch(() => undefined);
      if (res?.clusters.length && res.clusters.every((c) => c.state === 'up')) break;
      await sleep(200);
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
    for (let i = 0; i < 150; i++) {
      const content = (await responses(id)).original?.content;
      if (content) seen.add(content);
      if (content && /\*\*completed\*\*/.test(content)) break;
      await sleep(100);
    }
    const final = [...seen].at(-1)!;
    assert.match(final, /^Backup `[0-9a-f-]{36}`: \*\*completed\*\*: backup complete: \d+ roles, \d+ channels, \d+ messages$/);
    assert.ok(seen.size >= 2, `progress was shown before the result: ${[...seen].join(' | ')}`);
  });

  it('refuses a member without Manage Server', async () => {
    const state = (await (await fetch(`${simUrl}/_sim/guilds/${guild.id}/state`)).json()) as { members: { user: { id: string; bot?: boolean }; roles: string[] }[] };
    const plain = state.members.find((m) => !m.user.bot && m.roles.length === 0 && m.user.id !== guild.owner_id)!;
    const id = await interact(plain.user.id, [{ type: 1, name: 'list', options: [] }]);
    let content: string | undefined;
    for (let i = 0; i < 50 && !content; i++) {
      content = (await responses(id)).original?.content;
      await sleep(100);
    }
    assert.equal(content, 'You need the Manage Server permission to manage backups.');
  });
});
