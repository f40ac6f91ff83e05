// Channel mirroring (issue 16): links with their own webhook in the target channel, one-time
// link codes, and the id map (source message -> target message per link). An id map row is
// written 'pending' (target_message_id null) before the webhook call, so a redelivery knows a
// send may have happened and looks for it before sending again.
export default `
create table mirror_links (
  id serial primary key,
  source_guild_id text not null,
  source_channel_id text not null,
  target_guild_id text not null,
  target_channel_id text not null,
  webhook_id text not null unique,
  webhook_token text not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (source_channel_id, target_channel_id)
);
create index mirror_links_target on mirror_links (target_channel_id);
create index mirror_links_guilds on mirror_links (source_guild_id, target_guild_id);
create table mirror_codes (
  code text primary key,
  source_guild_id text not null,
  source_channel_id text not null,
  two_way boolean not null default false,
  created_by text not null,
  expires_at timestamptz not null
);
create table mirror_messages (
  link_id integer not null references mirror_links (id) on delete cascade,
  source_message_id text not null,
  target_message_id text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (link_id, source_message_id)
);
create index mirror_messages_expiry on mirror_messages (expires_at);
`;
