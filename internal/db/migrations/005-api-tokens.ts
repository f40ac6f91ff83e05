// Per-user API tokens of the webserver (`Authorization: User <token>`). Only a SHA-256 of the
// token is kept: the token is shown once, at creation. Revoked tokens stay listed as revoked.
export default `
create table api_tokens (
  id uuid primary key,
  user_id text not null,
  username text not null,
  name text not null,
  token_hash bytea not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_tokens_user on api_tokens (user_id, created_at desc);
`;
