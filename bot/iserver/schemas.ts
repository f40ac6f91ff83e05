// The IServer's request and response shapes: one source for validation, types and docs.
import { Type } from '@sinclair/typebox';

export const Snowflake = Type.String({ pattern: '^[0-9]{1,20}$', description: 'a Discord id' });

export const InfoResponse = Type.Object({
  cluster_id: Type.Integer(),
  cluster_name: Type.String(),
  shards: Type.Array(Type.Integer()),
  shard_count: Type.Integer(),
  cluster_count: Type.Integer(),
  guilds: Type.Integer(),
  users: Type.Integer(),
  ready: Type.Boolean(),
  uptime_seconds: Type.Number(),
  memory: Type.Object({ rss: Type.Number(), heap_used: Type.Number(), heap_total: Type.Number() }),
  shard_status: Type.Array(
    Type.Object({ shard_id: Type.Integer(), up: Type.Boolean(), latency: Type.Number(), guilds: Type.Integer(), users: Type.Integer() }),
  ),
});

export const GuildsExistBody = Type.Object(
  { guilds: Type.Array(Snowflake, { maxItems: 1000 }) },
  { additionalProperties: false },
);
export const GuildsExistResponse = Type.Object({
  /** 1 or 0 per requested id, in order (the original IServer's answer). */
  guilds: Type.Array(Type.Integer()),
  existing: Type.Array(Type.String()),
});

export const GuildParams = Type.Object({ id: Snowflake });
export const GuildSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  shard_id: Type.Integer(),
  owner_id: Type.String(),
  member_count: Type.Integer(),
  channels: Type.Integer(),
  roles: Type.Integer(),
  icon: Type.Union([Type.String(), Type.Null()]),
});

export const ErrorResponse = Type.Object({ error: Type.String() });

export const ModulesResponse = Type.Array(
  Type.Object({
    name: Type.String(),
    description: Type.String(),
    commands: Type.Array(Type.Object({ name: Type.String(), description: Type.String() }, { additionalProperties: true })),
  }),
);
