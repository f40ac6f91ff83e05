// The shape of config.yaml. Every key is documented in config.yaml.example; defaults live here only.
import { z } from 'zod';
import { bool, httpUrl, int, nonEmpty, port, secret, snowflake, str, url } from './fields';

const discordAuth = z.object({
  token: nonEmpty(),
  client_id: snowflake(),
  client_secret: nonEmpty(),
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

const proxy = z
  .object({
    port: port().default(3220),
    host: nonEmpty().default('127.0.0.1'),
    /** Public URL bots connect to; defaults to ws://host:port */
    url: url('ws', 'wss').optional(),
    /** Shards this node runs: "all" or [first, last] (inclusive). */
    shards: z
      .union([z.literal('all'), z.tuple([int(0, 1_000_000), int(0, 1_000_000)])], {
        error: 'must be "all" or [first, last]',
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
    log_channel: snowflake().optional(),
    log_guild_channel: snowflake().optional(),
  })
  .default({} as never);

const clusterer = z
  .object({
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

const jobs = z
  .object({
    concurrency: int(1, 1_000).default(4),
    lease_seconds: int(5, 3_600).default(30),
    rest_timeout_seconds: int(1, 300).default(15),
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
  jobs,
});

export type Config = z.infer<typeof configSchema>;
