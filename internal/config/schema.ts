// The shape of config.yaml. Every key is documented in config.yaml.example; defaults live here only.
import { z } from 'zod';
import { bool, credential, httpUrl, int, nonEmpty, port, secret, snowflake, str, url, withoutBotPrefix } from './fields';

const discordAuth = z.object({
  /** Stored without the `Bot ` prefix (written with it or not): clients add it where Discord wants it. */
  token: str().transform(withoutBotPrefix).pipe(credential()),
  client_id: snowflake(),
  client_secret: credential(),
  allowed_redirects: z.array(httpUrl(), { error: 'must be a list of URLs' }).default([]),
  can_use_bot: z.array(snowflake(), { error: 'must be a list of Discord ids' }).default([]),
  /** REST base URL, e.g. https://discord.com/api or the sim's http://127.0.0.1:3219/api */
  api_url: httpUrl().default('https://discord.com/api'),
});

const sites = z.object({
  frontend: httpUrl(),
  api: httpUrl(),
  cdn: httpUrl().optional(),
});

const servers = z
  .object({
    main: snowflake().optional(),
  })
  .default({});

const meta = z.object({
  postgres_url: url('postgres', 'postgresql'),
  redis_url: url('redis', 'rediss'),
  amqp_url: url('amqp', 'amqps'),
  port: port().default(3010),
  host: nonEmpty().default('127.0.0.1'),
  bot_iserver_base_port: port().default(5000),
  bot_iserver_host: nonEmpty().default('127.0.0.1'),
  bot_iserver_secret: secret(),
  jobserver_port: port().default(3030),
  jobserver_url: httpUrl(),
  jobserver_secrets: z.record(str(), secret(), { error: 'must be a map of client name to secret' }),
  support_server: httpUrl().optional(),
  // Postgres connections of each bot cluster (settings, cases): small, a cluster runs few queries
  // and there may be many clusters against one server.
  postgres_pool_max: int(1, 100).default(2),
  // Encrypts the OAuth2 tokens of members who opted in to member restore (AES-256-GCM); unset:
  // member restore is off.
  oauth_token_key: secret().optional(),
});

const objectStorage = z
  .object({
    type: z.enum(['local', 's3'], { error: 'must be "local" or "s3"' }).default('local'),
    path: nonEmpty().default('./data/objects'),
    endpoint: httpUrl().optional(),
    bucket: nonEmpty().optional(),
    region: nonEmpty().default('us-east-1'),
    access_key: nonEmpty().optional(),
    secret_key: nonEmpty().optional(),
    /** Signs the short-lived download URLs. */
    signing_secret: secret(),
  })
  .refine((o) => o.type !== 's3' || (o.endpoint && o.bucket), {
    error: 'type "s3" needs endpoint and bucket',
  });

const proxyState = z
  .object({
    enabled: bool().default(false),
    prefix: str().default(''),
    hash_tags: bool().default(false),
    old: bool().default(true),
    guilds: bool().default(true),
    channels: bool().default(true),
    roles: bool().default(true),
    emojis: bool().default(true),
    members: bool().default(true),
    member_ttl_seconds: int(0, 31_536_000).default(0),
    messages: bool().default(true),
    message_ttl_seconds: int(0, 31_536_000).default(86_400),
    presences: bool().default(false),
    voice: bool().default(true),
  })
  .default({} as never);

/**
 * What the proxy keeps of each guild in memory (and in its Redis copy) to serve GUILD_CREATEs;
 * the defaults keep what a discord.js bot with default caches expects. members "self": what
 * Discord sends a bot without the GUILD_MEMBERS intent (itself, members in voice).
 */
const proxyGuildState = z
  .object({
    members: z.enum(['all', 'self', 'none'], { error: 'must be "all", "self" or "none"' }).default('all'),
    presences: bool().default(true),
    voice_states: bool().default(true),
    emojis_stickers: bool().default(true),
    threads: bool().default(true),
  })
  .default({} as never);

const proxy = z
  .object({
    port: port().default(3220),
    host: nonEmpty().default('127.0.0.1'),
    /** Public URL bots connect to; defaults to ws://host:port */
    url: url('ws', 'wss').optional(),
    /** Shards this node runs: "all", [first, last] (inclusive), or "auto" (shared by every node, see the multi-node block). */
    shards: z
      .union([z.literal('all'), z.literal('auto'), z.tuple([int(0, 1_000_000), int(0, 1_000_000)])], {
        error: 'must be "all", "auto" or [first, last]',
      })
      .default('all'),
    /** Total shard count; 0 = Discord's recommendation from /gateway/bot. */
    shard_count: int(0, 1_000_000).default(0),
    intents: int(0, 2 ** 31 - 1).default(3276799),
    buffer_max_events: int(0, 10_000_000).default(10_000),
    buffer_max_age_seconds: int(0, 86_400).default(300),
    /** A bot connection that does not read is closed (resumable) once this many bytes wait for it. */
    client_send_queue_max_bytes: int(1024, 2 ** 31 - 1).default(16 << 20),
    session_key_prefix: str().default('splashtail:proxy:'),
    // Shard log (issue 11, downstream side): each owned shard's dispatches in a capped Redis
    // stream `<session_key_prefix>log:<shard>`, so bot sessions survive a proxy restart and
    // RESUME on any node. The cap is per shard (entries; also the most that wait for a slow
    // Redis). 0 turns it off: sessions then live only in this process's memory.
    shard_log_max_events: int(0, 10_000_000).default(10_000),
    amqp: z
      .object({
        enabled: bool().default(false),
        exchange: nonEmpty().default('gateway'),
        default_queue: bool().default(true),
        send_queue: nonEmpty().default('gateway.send'),
        buffer_max_events: int(0, 10_000_000).default(100_000),
        send_max_attempts: int(1, 100).default(5),
        send_retry_delay_ms: int(10, 3_600_000).default(1_000),
      })
      .default({} as never),
    state: proxyState,
    guild_state: proxyGuildState,
    log_channel: snowflake().optional(),
    log_guild_channel: snowflake().optional(),
    // Multi-node proxies (`shards: auto`): node heartbeat and shard owner leases in Redis, and the
    // identify interval every node's IDENTIFYs share (Discord's 5 s; tests against the sim shorten it).
    node_name: nonEmpty().regex(/^\S{1,100}$/, { error: 'must be a name without spaces (at most 100 characters), like host:port' }).optional(),
    lease_seconds: int(2, 3_600).default(10),
    identify_interval_ms: int(0, 600_000).default(5_000),
  })
  .default({} as never);

const clusterer = z
  .object({
    /** Whether `splashtail webserver` hosts the clusterer; false when `splashtail bot` does (only one may). */
    enabled: bool().default(true),
    per_cluster: int(1, 10_000).default(2),
    names: z.array(nonEmpty(), { error: 'must be a list of names' }).default([]),
    redis_channel: nonEmpty().default('splashtail:mewld'),
    ping_interval: int(1, 3_600_000).default(5_000),
    ping_timeout: int(1, 3_600_000).default(10_000),
    cluster_start_next_delay: int(0, 3_600_000).default(1_000),
    fixed_shard_count: int(0, 1_000_000).default(0),
    minimum_safe_sessions_remaining: int(0, 1_000_000).default(5),
    action_log_max: int(1, 1_000_000).default(1_000),
  })
  .default({} as never);

const bot = z
  .object({
    /** Gateway the clusters connect to: empty = the URL from /gateway/bot; or the proxy's ws:// URL. */
    gateway_url: url('ws', 'wss').optional(),
  })
  .default({} as never);

const sim = z
  .object({
    port: port().default(3219),
    host: nonEmpty().default('127.0.0.1'),
    guilds: int(0, 100_000).default(10),
    shards: int(1, 10_000).default(4),
    max_concurrency: int(1, 1024).default(1),
    identify_interval_ms: int(0, 600_000).default(5_000),
    seed: int(0, 2 ** 31 - 1).default(1),
  })
  .default({} as never);

/** `splashtail dev` only: this instance's names in the shared Redis and RabbitMQ (see cmd/dev-instance.ts). */
const dev = z
  .object({
    /** Names this instance's keys, channel and queues; empty = a random id per run. */
    instance: str().regex(/^[a-z0-9-]{0,32}$/, { error: 'must be up to 32 lowercase letters, digits or dashes' }).default(''),
    /** Events kept in the instance's event queue, which nothing consumes; older ones are dropped. */
    recv_max_events: int(1, 10_000_000).default(10_000),
  })
  .default({} as never);

const jobs = z
  .object({
    concurrency: int(1, 1_000).default(4),
    lease_seconds: int(5, 3_600).default(30),
    rest_timeout_seconds: int(1, 300).default(15),
  })
  .default({} as never);

// `splashtail mirror` (README: Mirror). Events come from proxy.amqp.exchange.
const mirror = z
  .object({
    /** /metrics and /healthz of a mirror node. */
    port: port().default(3040),
    host: nonEmpty().default('127.0.0.1'),
    /** Quorum queues <queue_prefix>.p.<n>, one active consumer each; source channels are hashed over them. */
    partitions: int(1, 1_024).default(8),
    queue_prefix: nonEmpty().regex(/^[\w.:-]{1,100}$/, { error: 'must be a queue name prefix (letters, digits, . _ : -)' }).default('mirror'),
    /** Source -> target message ids are kept this long (edits and deletes of older messages are not mirrored). */
    id_map_ttl_days: int(1, 3_650).default(30),
    /** Deliveries a node works on at once per partition (across the partition's channels). */
    prefetch: int(1, 10_000).default(100),
  })
  .default({} as never);

const rateLimit = (requests: number, windowSeconds: number) =>
  z.object({ requests: int(1, 1_000_000).default(requests), window_seconds: int(1, 3_600).default(windowSeconds) }).default({} as never);

// `splashtail webserver`'s own HTTP behaviour (README: Webserver).
const webserver = z
  .object({
    /**
     * Whose X-Forwarded-For to believe for the client's address (fastify's trustProxy): false (the
     * socket's peer is the client), true (any hop), or the reverse proxies' addresses or CIDRs.
     */
    trust_proxy: z.union([z.boolean(), z.array(nonEmpty()).min(1)]).default(false),
    /** /api/v1 requests per window, per client address and per user (fixed windows in Redis). */
    rate_limits: z.object({ ip: rateLimit(300, 10), user: rateLimit(120, 10) }).default({} as never),
  })
  .default({} as never);

export const configSchema = z.object({
  env: nonEmpty().regex(/^[a-z][a-z0-9_-]*$/, { error: 'must be a lowercase name like staging or prod' }),
  discord_auth: discordAuth,
  sites,
  servers,
  meta,
  object_storage: objectStorage,
  proxy,
  clusterer,
  bot,
  sim,
  dev,
  jobs,
  mirror,
  webserver,
});

export type Config = z.infer<typeof configSchema>;
