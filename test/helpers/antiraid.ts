// The AntiRaid end-to-end setup: a sim with one guild, a Postgres database, a gateway proxy, and
// the bot's cluster under `splashtail webserver` behind the proxy (gateway and REST); plus the sim calls those tests make (act as a user, run a command
// as a user, read the guild's state, add a member with a role).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { writeTestConfig } from './config';
import { freePort } from './ports';
import { type Running, start } from './process';
import { createTestDatabase, REDIS_URL, uniqueName } from './services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type AuditEntry = { id: string; action_type: number; user_id: string; target_id: string };
export type GuildState = {
  bans: { user: { id: string } }[];
  audit_log: AuditEntry[];
  roles: { id: string; name: string; position: number; managed?: boolean; permissions: string; color: number; hoist: boolean }[];
  channels: { id: string; name: string; type: number; position: number; parent_id?: string | null; permission_overwrites?: { id: string; type: number; allow: string; deny: string }[] }[];
  members: { user: { id: string }; roles: string[]; communication_disabled_until?: string | null }[];
  messages: Record<string, { id: string; content: string; author: { id: string } }[]>;
};

/** The options of `/limits add`. */
export const limitRule = (kind: string, count: number, seconds: number, punishment: string, revert?: boolean) => [{
  type: 1, name: 'add', options: [
    { type: 3, name: 'kind', value: kind }, { type: 4, name: 'count', value: count }, { type: 4, name: 'seconds', value: seconds }, { type: 3, name: 'punishment', value: punishment },
    ...(revert === undefined ? [] : [{ type: 5, name: 'revert', value: revert }]),
  ],
}];

/** Polls `probe` until it returns something truthy (or fails after `ms`). */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000, story?: () => string): Promise<T> {
  for (const deadline = Date.now() + ms; ; await sleep(100)) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms${story ? `\n${story()}` : ''}`);
  }
}

export interface AntiraidWorld {
  simUrl: string;
  /** The webserver hosting the bot's clusterer (GET /clusters: pids, states). */
  webUrl: string;
  guildId: string;
  ownerId: string;
  general: string;
  pool: pg.Pool;
  post(path: string, body: unknown): Promise<unknown>;
  /** Any REST route as `userId`, with that user's permissions; the raw response. */
  act(userId: string, method: string, path: string, body?: unknown): Promise<Response>;
  state(): Promise<GuildState>;
  /** Runs a slash command as `userId` in #general; its reply once there is one. */
  command(userId: string, name: string, options: unknown[]): Promise<string>;
  /** A new member, with a new role of `permissions` (placed at `position` when given). */
  member(name: string, permissions?: bigint, position?: number): Promise<string>;
  /** The last lines of the bot's (webserver's) and the proxy's logs: a failure's story. */
  output(): string;
  stop(): Promise<void>;
}

/** Deletes what a run left in the shared Redis (settings copies, windows, the proxy's state). */
async function dropRedisKeys(prefixes: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL);
  for (const prefix of prefixes) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  await redis.quit();
}

export interface AntiraidOptions {
  /** A database of a private server (a fault test stops it) instead of a fresh one on the shared server. */
  postgresUrl?: string;
  /** Guilds of the sim (default 1; the world's first is the one the helpers act in). */
  guilds?: number;
  /** The sim's REST limit per bucket and global, per second (default 1000; Discord's is 50). */
  restLimit?: number;
}

export async function startAntiraid(options: AntiraidOptions = {}): Promise<AntiraidWorld> {
  const running: Running[] = [];
  const sim = start([
    'sim', '--port', String(await freePort()), '--shards', '1', '--guilds', String(options.guilds ?? 1), '--max-concurrency', '1', '--identify-interval-ms', '0',
    '--rest-limit', String(options.restLimit ?? 1000),
  ]);
  running.push(sim);
  const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  const [guild] = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string; channels: { id: string; name: string }[] }[];
  const db = options.postgresUrl ? { url: options.postgresUrl, drop: async () => {} } : await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // A fault test stops Postgres under idle clients: their error is expected, not a crash.
  pool.on('error', () => {});
  const proxyPort = await freePort();
  const webPort = await freePort();
  const prefixes = [uniqueName('st_antiraid'), uniqueName('st_antiraid_proxy')];
  const { path } = writeTestConfig({
    'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.port': webPort,
    'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': prefixes[0],
    'proxy.port': proxyPort, 'proxy.session_key_prefix': prefixes[1],
  });
  const proxy = start(['proxy', '--config', path]);
  running.push(proxy);
  await proxy.waitFor(/"msg":"proxy listening/);
  const web = start(['webserver', '--config', path], {
    env: { SPLASHTAIL__BOT__GATEWAY_URL: `ws://127.0.0.1:${proxyPort}`, SPLASHTAIL__DISCORD_AUTH__API_URL: `http://127.0.0.1:${proxyPort}/api` },
  });
  running.push(web);
  await web.waitFor(/all shards ready/, 90_000);

  const guildId = guild!.id;
  const ownerId = guild!.owner_id;
  const general = guild!.channels.find((c) => c.name === 'general')!.id;
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${simUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const act = (userId: string, method: string, p: string, body?: unknown) =>
    fetch(`${simUrl}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, method, path: p, body }) });
  const actOk = async (userId: string, method: string, p: string, body?: unknown) => {
    const res = await act(userId, method, p, body);
    const text = await res.text();
    assert.ok(res.ok, `${method} ${p} as ${userId}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    simUrl, webUrl: `http://127.0.0.1:${webPort}`, guildId, ownerId, general, pool, post, act,
    state: async () => (await (await fetch(`${simUrl}/_sim/guilds/${guildId}/state`)).json()) as GuildState,
    async command(userId, name, options) {
      const { id } = (await post('/_sim/interactions', { guild_id: guildId, channel_id: general, user_id: userId, command_name: name, options })) as { id: string };
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
        const i = (await (await fetch(`${simUrl}/_sim/interactions/${id}`)).json()) as { original: { content: string } | null };
        if (i.original?.content) return i.original.content;
      }
      assert.fail(`no reply to /${name} within 30 s`);
    },
    async member(name, permissions, position) {
      const user = (await post('/_sim/users', { username: name })) as { id: string };
      await post(`/_sim/guilds/${guildId}/members`, { user_id: user.id });
      if (permissions === undefined) return user.id;
      const role = (await actOk(ownerId, 'POST', `/guilds/${guildId}/roles`, { name, permissions: permissions.toString() })) as { id: string };
      if (position !== undefined) await actOk(ownerId, 'PATCH', `/guilds/${guildId}/roles`, [{ id: role.id, position }]);
      await actOk(ownerId, 'PUT', `/guilds/${guildId}/members/${user.id}/roles/${role.id}`);
      return user.id;
    },
    output: () => `--- bot:\n${web.output().slice(-6000)}\n--- proxy:\n${proxy.output().slice(-3000)}`,
    async stop() {
      // ANTIRAID_LOG=<file> keeps the bot's (webserver's) log of the run, for a failure's story.
      if (process.env.ANTIRAID_LOG) writeFileSync(process.env.ANTIRAID_LOG, web.output());
      for (const r of running.reverse()) await r.stop();
      await pool.end();
      await db.drop();
      await dropRedisKeys(prefixes);
    },
  };
}
