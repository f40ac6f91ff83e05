// Member restore: the OAuth2 tokens (scope identify guilds.join) of users who opted in, encrypted
// with meta.oauth_token_key (AES-256-GCM, see internal/member-restore/token-cipher.ts), and which
// guilds each user agreed to be put back into. A user's opt-ins go with their tokens.
export default `
create table member_restore_tokens (
  user_id text primary key,
  access_token bytea not null,
  refresh_token bytea not null,
  scope text not null,
  expires_at timestamptz not null,
  updated_at timestamptz not null default now()
);
create table member_restore_optins (
  guild_id text not null,
  user_id text not null references member_restore_tokens (user_id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (guild_id, user_id)
);
create index member_restore_optins_user on member_restore_optins (user_id);
`;
