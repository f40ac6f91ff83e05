// /mirror link|join|list|unlink from sim users, through a bot cluster: the link lands in
// Postgres with its own webhook in the target channel, codes are single-use and expire, and
// Manage Webhooks is required of the member on each side.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase, uniqueName } from '../helpers/services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = { 'content-type': 'application/json' };
type SimGuild = { id: string; owner_id: string; channels: { id: string; name: string; type: number }[] };

describe('/mirror bot commands', () => {
  let sim: Running;
  let web: Running;
  let simUrl: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let a: SimGuild;
  let b: SimGuild;
  const general = (g: SimGuild) => g.channels.find((c) => c.name === 'general')!.id;

  /** Runs /mirror <sub> as `userId` in `g` and returns the reply's text once there is one. */
  const mirror = async (g: SimGuild, userId: string, sub: string, options: { type: number; name: string; value: unknown }[] = []) => {
    const res = await fetch(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: json,
      body: JSON.stringify({ guild_id: g.id, channel_id: general(g), user_id: userId, command_name: 'mirror', options: [{ type: 1, name: sub, options }] }),
    });
    const { id } = (await res.json()) as { id: string };
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
      const content = ((await (await fetch(`${simUrl}/_sim/interactions/${id}`)).json()) as { original: { content: string } | null }).original?.content;
      if (content) return content;
    }
    assert.fail(`no reply to /mirror ${sub}`);
  };
  const channel = (g: SimGuild) => ({ type: 7, name: 'channel', value: general(g) });
  const codeIn = (reply: string) => /Code `([^`]+)`/.exec(reply)?.[1] ?? assert.fail(`no code in: ${reply}`);

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--rest-limit', '1000']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    [a, b] = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as [SimGuild, SimGuild];
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const apiPort = await freePort();
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.port': apiPort,
      'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': uniqueName('st_mirror_cmd'),
    });
    web = start(['webserver', '--config', path]);
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/clusters`).then((r) => r.json() as Promise<{ clusters: { state: string }[] }>).catch(() => undefined);
      if (res?.clusters.length && res.clusters.every((c) => c.state === 'up')) break;
      assert.ok(Date.now() < deadline, `clusters not up within 60 s: ${JSON.stringify(res)}`);
    }
  });
  after(async () => {
    await web?.stop();
    await sim?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('link then join makes a link with its own webhook in the target; the code works once', async () => {
    const code = codeIn(await mirror(a, a.owner_id, 'link', [channel(a)]));
    assert.match(await mirror(b, b.owner_id, 'join', [{ type: 3, name: 'code', value: code }, channel(b)]), /^Link #\d+: <#\d+> → <#\d+>$/);
    const { rows } = await pool.query('select * from mirror_links');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].source_channel_id, general(a));
    assert.equal(rows[0].target_channel_id, general(b));
    const webhooks = (await (await fetch(`${simUrl}/api/v10/channels/${general(b)}/webhooks`, { headers: { authorization: `Bot ${DEFAULT_TOKEN}` } })).json()) as { id: string }[];
    assert.ok(webhooks.some((w) => w.id === rows[0].webhook_id), 'the webhook is in the target channel');
    assert.match(await mirror(b, b.owner_id, 'join', [{ type: 3, name: 'code', value: code }, channel(b)]), /unknown, used or expired/);
    assert.match(await mirror(a, a.owner_id, 'list'), new RegExp(`^#${rows[0].id}: <#${general(a)}> → <#${general(b)}>$`));
    assert.match(await mirror(b, b.owner_id, 'unlink', [{ type: 4, name: 'id', value: rows[0].id }]), /removed/);
    assert.equal((await pool.query('select 1 from mirror_links')).rowCount, 0);
  });

  it('an expired code is refused', async () => {
    const code = codeIn(await mirror(a, a.owner_id, 'link', [channel(a)]));
    await pool.query(`update mirror_codes set expires_at = now() - interval '1 second' where code = $1`, [code]);
    assert.match(await mirror(b, b.owner_id, 'join', [{ type: 3, name: 'code', value: code }, channel(b)]), /unknown, used or expired/);
  });

  it('a two-way join links both directions', async () => {
    const code = codeIn(await mirror(a, a.owner_id, 'link', [channel(a), { type: 5, name: 'two_way', value: true }]));
    const reply = await mirror(b, b.owner_id, 'join', [{ type: 3, name: 'code', value: code }, channel(b)]);
    assert.equal(reply.split('\n').length, 2, reply);
    const { rows } = await pool.query('select source_channel_id, target_channel_id from mirror_links order by id');
    assert.deepEqual(rows, [{ source_channel_id: general(a), target_channel_id: general(b) }, { source_channel_id: general(b), target_channel_id: general(a) }]);
  });

  it('a member without Manage Webhooks on the channel is refused', async () => {
    const user = (await (await fetch(`${simUrl}/_sim/users`, { method: 'POST', headers: json, body: '{}' })).json()) as { id: string };
    await fetch(`${simUrl}/_sim/guilds/${a.id}/members`, { method: 'POST', headers: json, body: JSON.stringify({ user_id: user.id }) });
    // Without the permission anywhere, the command dispatcher refuses (default_member_permissions).
    assert.equal(await mirror(a, user.id, 'link', [channel(a)]), 'You are not allowed to use /mirror here.');
    // With it in the server but denied on the channel, the mirror's own channel check refuses.
    const act = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${simUrl}/_sim/act`, { method: 'POST', headers: json, body: JSON.stringify({ user_id: a.owner_id, method, path, body }) });
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
      return res.status === 204 ? undefined : ((await res.json()) as { id: string });
    };
    const role = (await act('POST', `/guilds/${a.id}/roles`, { name: 'webhooks', permissions: String(1n << 29n) }))!;
    await act('PUT', `/guilds/${a.id}/members/${user.id}/roles/${role.id}`);
    // The command runs in #general; the channel to link is another one, where it is denied.
    const other = a.channels.find((c) => c.name !== 'general' && c.type === 0)!.id;
    await act('PUT', `/channels/${other}/permissions/${role.id}`, { type: 0, allow: '0', deny: String(1n << 29n) });
    assert.equal(await mirror(a, user.id, 'link', [{ type: 7, name: 'channel', value: other }]), `You need Manage Webhooks in <#${other}>.`);
    assert.equal((await pool.query('select 1 from mirror_codes where created_by = $1', [user.id])).rowCount, 0);
  });
});
