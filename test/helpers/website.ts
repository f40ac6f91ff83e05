// The website's stack for its tests: sim, jobserver and webserver (hosting one bot cluster) on a
// fresh database, with `operator` in discord_auth.can_use_bot; and logins through the sim's OAuth2.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { writeTestConfig } from './config';
import { freePort } from './ports';
import { type Running, start } from './process';
import { createTestDatabase, dropRedisKeys, REDIS_URL, uniqueName } from './services';

export type SimGuild = { id: string; name: string; owner_id: string; channels: { id: string; name: string; type: number }[] };

export interface WebsiteStack {
  simUrl: string;
  api: string;
  guilds: SimGuild[];
  /** Owns guilds[1] and may control the clusters. */
  operator: string;
  /** Owns guilds[0]; not an operator. */
  owner: string;
  /** A member of guilds[0] without Manage Server. */
  stranger: string;
  /** The webserver process (hosting the clusterer). */
  web: Running;
  /** The stack's database (tests put rows there that only the bot would write otherwise). */
  postgresUrl: string;
  stop(): Promise<void>;
}

export interface Login {
  session: string;
  csrf: string;
  /** The Cookie header of this login. */
  cookie: string;
}

/** `config`: extra keys of the test config (e.g. higher rate limits for a fuzz run). */
export async function startWebsiteStack(config: Record<string, unknown> = {}): Promise<WebsiteStack> {
  const startedAt = Date.now();
  const procs: Running[] = [];
  const sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--rest-limit', '1000']);
  procs.push(sim);
  const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[];
  const stranger = ((await (await fetch(`${simUrl}/_sim/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'stranger' }) })).json()) as { id: string }).id;
  await fetch(`${simUrl}/_sim/guilds/${guilds[0]!.id}/members`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: stranger }) });
  const db = await createTestDatabase();
  const [jobsPort, apiPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const operator = guilds[1]!.owner_id;
  const objects = mkdtempSync(join(tmpdir(), 'st-objects-'));
  const channel = uniqueName('st_web');
  const { path } = writeTestConfig({
    'discord_auth.api_url': `${simUrl}/api`, 'discord_auth.allowed_redirects': [`${api}/auth/callback`], 'discord_auth.can_use_bot': [operator],
    'sites.frontend': `${api}/`, 'sites.api': api,
    'meta.postgres_url': db.url, 'meta.jobserver_port': jobsPort, 'meta.jobserver_url': `http://127.0.0.1:${jobsPort}`, 'meta.port': apiPort,
    'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000), 'clusterer.redis_channel': channel, 'clusterer.per_cluster': 1, 'clusterer.ping_interval': 1_000,
    'object_storage.path': objects,
    ...config,
  });
  const jobs = start(['jobs', '--config', path]);
  procs.push(jobs);
  await jobs.waitFor(/jobserver listening/);
  const web = start(['webserver', '--config', path]);
  procs.push(web);
  await web.waitFor(/webserver listening/, 60_000);
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 200))) {
    const res = (await (await fetch(`${api}/clusters`)).json()) as { clusters: { state: string }[] };
    if (res.clusters.length && res.clusters.every((c) => c.state === 'up')) break;
    if (Date.now() > deadline) throw new Error(`clusters not up within 60 s: ${JSON.stringify(res)}\n${web.output().slice(-3000)}`);
  }
  return {
    simUrl, api, guilds, operator, owner: guilds[0]!.owner_id, stranger, web, postgresUrl: db.url,
    async stop() {
      for (const p of procs.reverse()) await p.stop();
      await db.drop();
      rmSync(objects, { recursive: true, force: true });
      await cleanRedis([...guilds.map((g) => g.id), operator, guilds[0]!.owner_id, stranger], startedAt);
      await dropRedisKeys(`${channel}:`);
    },
  };
}

/** The session lifetime (webserver/sessions.ts), to tell the sessions made since the stack started. */
const SESSION_TTL_MS = 7 * 86_400_000;

/**
 * Removes the webserver's keys about these users and guilds and the sessions
 * of these users made since `since` (sim user ids repeat from one sim to the next).
 */
async function cleanRedis(ids: string[], since: number): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (let cursor = '0'; ;) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'splashtail:web:session:*', 'COUNT', 1000);
      for (const key of keys) {
        const [value, ttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
        const user = value ? (JSON.parse(value) as { user?: { id?: string } }).user?.id : undefined;
        if (user && ids.includes(user) && ttl > SESSION_TTL_MS - (Date.now() - since)) await redis.del(key);
      }
      if ((cursor = next) === '0') break;
    }
    const patterns = [...ids.flatMap((id) => [`splashtail:web:grant:${id}`, `splashtail:web:manage:${id}:*`, `splashtail:web:manage:*:${id}`])];
    for (const pattern of patterns) {
      for (let cursor = '0'; ;) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        if ((cursor = next) === '0') break;
      }
    }
  } finally {
    await redis.quit();
  }
}

/** A login as `userId` through the sim's OAuth2, as a browser does it. */
export async function login(api: string, userId: string): Promise<Login> {
  const authorize = new URL((await fetch(`${api}/auth/login`, { redirect: 'manual' })).headers.get('location')!);
  authorize.searchParams.set('user_id', userId);
  const consent = await fetch(authorize, { redirect: 'manual' });
  const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
  const cookies = Object.fromEntries(callback.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
  if (!cookies.session || !cookies.csrf) throw new Error(`login of ${userId} failed: ${callback.status} ${await callback.text()}`);
  return { session: cookies.session, csrf: cookies.csrf, cookie: `session=${cookies.session}; csrf=${cookies.csrf}` };
}
