// A mirror test stack: the sim, one proxy publishing to its own exchange, a fresh database, and
// `splashtail mirror` nodes started on demand. Links are made as the bot would make them: a
// webhook created in the target channel through the sim's REST API, the row in mirror_links.
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import pg from 'pg';
import { migrate } from '../../internal/db/migrate';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from './config';
import { freePort } from './ports';
import { type Running, start } from './process';
import { AMQP_URL, createTestDatabase, uniqueName } from './services';

export interface SimMessage {
  id: string;
  channel_id: string;
  content: string;
  webhook_id?: string;
  author: { id: string; username: string; avatar: string | null };
  embeds: unknown[];
  edited_timestamp: string | null;
}
export interface SimGuild {
  id: string;
  channels: { id: string; name: string; type: number }[];
}

const json = { 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

export async function mirrorStack({ partitions = 4, restLimit = 1000, amqpUrl = AMQP_URL } = {}) {
  const sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '0', '--rest-limit', String(restLimit)]);
  const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  const api = `${simUrl}/api/v10`;
  const guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as SimGuild[];
  const db = await createTestDatabase();
  const exchange = uniqueName('st_mirror_gw');
  const prefix = uniqueName('st_mirror');
  const proxyPort = await freePort();
  const base = { 'discord_auth.api_url': `${simUrl}/api`, 'sites.cdn': `${simUrl}/cdn`, 'meta.amqp_url': amqpUrl, 'meta.postgres_url': db.url, 'proxy.amqp.exchange': exchange };
  const { path: proxyConfig } = writeTestConfig({
    ...base, 'proxy.port': proxyPort, 'proxy.session_key_prefix': `${uniqueName('st_mirror_s')}:`, 'proxy.amqp.enabled': true, 'proxy.amqp.default_queue': false, 'proxy.shard_log_max_events': 0,
  });
  const proxy = start(['proxy', '--config', proxyConfig]);
  await proxy.waitFor(/"msg":"proxy listening/);
  await waitUntil('shards ready', async () => ((await (await fetch(`http://127.0.0.1:${proxyPort}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready'));
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  const nodes: Running[] = [];
  const bot = { authorization: `Bot ${DEFAULT_TOKEN}`, ...json };

  const rest = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${api}${path}`, { method, headers: bot, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  };

  const stack = {
    sim, simUrl, api, guilds, db, pool, exchange, prefix, proxy, nodes, rest,

    /** Starts a mirror node and waits until it serves /healthz with RabbitMQ connected. */
    async startNode(env: Record<string, string> = {}): Promise<Running & { port: number }> {
      const port = await freePort();
      const { path } = writeTestConfig({ ...base, 'mirror.port': port, 'mirror.partitions': partitions, 'mirror.queue_prefix': prefix });
      const node = Object.assign(start(['mirror', '--config', path], { env }), { port });
      nodes.push(node);
      await node.waitFor(/"msg":"mirror listening/);
      await waitUntil('mirror healthy', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200);
      return node;
    },

    async createChannel(guildId: string, name: string): Promise<string> {
      return (await rest<{ id: string }>('POST', `/guilds/${guildId}/channels`, { name, type: 0 })).id;
    },

    /** A link source -> target with its own webhook in the target, as `/mirror join` makes it. */
    async link(source: { guild: string; channel: string }, target: { guild: string; channel: string }): Promise<{ id: number; webhook_id: string; webhook_token: string }> {
      const webhook = await rest<{ id: string; token: string }>('POST', `/channels/${target.channel}/webhooks`, { name: 'splashtail mirror' });
      const { rows } = await pool.query(
        `insert into mirror_links (source_guild_id, source_channel_id, target_guild_id, target_channel_id, webhook_id, webhook_token, created_by)
         values ($1, $2, $3, $4, $5, $6, 'test') returning id, webhook_id, webhook_token`,
        [source.guild, source.channel, target.guild, target.channel, webhook.id, webhook.token],
      );
      return rows[0];
    },

    /** `count` linked pairs of new channels, sources in the first guild and targets in the second. */
    async linkedPairs(count: number, name: string) {
      const [a, b] = guilds;
      const pairs: { source: { guild: string; channel: string }; target: { guild: string; channel: string } }[] = [];
      for (let i = 0; i < count; i++) {
        const source = { guild: a!.id, channel: await stack.createChannel(a!.id, `${name}-source-${i}`) };
        const target = { guild: b!.id, channel: await stack.createChannel(b!.id, `${name}-target-${i}`) };
        await stack.link(source, target);
        pairs.push({ source, target });
      }
      return pairs;
    },

    /** Every target's contents equal its source's `c<pair> m<i>` messages, once each and in order. */
    async assertMirroredOnce(pairs: { target: { channel: string } }[], perChannel: number, timeoutMs = 120_000) {
      const total = async () => (await Promise.all(pairs.map(({ target }) => stack.messages(target.channel)))).reduce((n, list) => n + list.length, 0);
      await waitUntil('every message mirrored', async () => (await total()) >= pairs.length * perChannel, timeoutMs);
      for (const [c, { target }] of pairs.entries()) {
        assert.deepEqual((await stack.messages(target.channel)).map((m) => m.content), Array.from({ length: perChannel }, (_, i) => `c${c} m${i}`), `channel ${c}: once each, in order`);
      }
    },

    /** Messages mirrored so far (id map rows with a target). */
    async mirroredCount(): Promise<number> {
      return (await pool.query('select count(*)::int as n from mirror_messages where target_message_id is not null')).rows[0].n;
    },

    /** A user's message (the guild's first member unless `author`), through the sim's control API. */
    async say(guild: string, channel: string, content: string, extra: Record<string, unknown> = {}): Promise<SimMessage> {
      const res = await fetch(`${simUrl}/_sim/guilds/${guild}/channels/${channel}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content, ...extra }) });
      if (!res.ok) throw new Error(`say: ${res.status} ${await res.text()}`);
      return (await res.json()) as SimMessage;
    },

    /** Every message of a channel, oldest first. */
    async messages(channel: string): Promise<SimMessage[]> {
      const all: SimMessage[] = [];
      let after = '0';
      for (;;) {
        const page = await rest<SimMessage[]>('GET', `/channels/${channel}/messages?limit=100&after=${after}`);
        all.push(...page.reverse());
        if (page.length < 100) return all;
        after = all.at(-1)!.id;
      }
    },

    /** Stops everything; `brokerGone` when the (private) RabbitMQ is removed anyway. */
    async stop({ brokerGone = false } = {}): Promise<void> {
      for (const node of nodes) await node.stop();
      await proxy.stop();
      await sim.stop();
      await pool.end();
      if (brokerGone) return db.drop();
      const connection = await amqp.connect(amqpUrl);
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${prefix}.in`);
      for (let n = 0; n < partitions; n++) await channel.deleteQueue(`${prefix}.p.${n}`);
      await channel.deleteExchange(exchange);
      await connection.close();
      await db.drop();
    },
  };
  return stack;
}
