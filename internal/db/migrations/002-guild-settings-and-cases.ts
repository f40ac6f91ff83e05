// Per-guild settings of the AntiRaid modules (one JSON document per module, validated by the
// module's own schema in the bot) and the moderation cases. Case numbers are per guild and
// without gaps: the counter row is bumped in the same transaction that inserts the case, so
// concurrent inserts queue on that row instead of racing on max(number).
export default `
create table guild_settings (
  guild_id text not null,
  module text not null check (module in ('limits', 'moderation', 'permissions')),
  settings jsonb not null default '{}',
  updated_at timestamptz not null default now(),
  primary key (guild_id, module)
);
create table guild_case_counters (
  guild_id text primary key,
  last_number integer not null default 0
);
create table cases (
  guild_id text not null,
  number integer not null,
  action text not null,
  actor_id text not null,
  target_id text not null,
  reason text,
  state text not null default 'applied' check (state in ('applied', 'failed')),
  error text,
  created_at timestamptz not null default now(),
  primary key (guild_id, number)
);
create index cases_target on cases (guild_id, target_id, number desc);
`;
