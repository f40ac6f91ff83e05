// Per-user API tokens (table api_tokens): `st_<32 random bytes base64url>`, kept as a SHA-256
// only. A token acts as its user, like the session of their last login.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from '../internal/db/pool';

export interface ApiTokenView {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface TokenUser {
  id: string;
  username: string;
  token_id: string;
}

const TOKEN = /^st_[A-Za-z0-9_-]{43}$/;
const hash = (token: string) => createHash('sha256').update(token).digest();
const view = (r: { id: string; name: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }): ApiTokenView => ({
  id: r.id, name: r.name, created_at: r.created_at.toISOString(), last_used_at: r.last_used_at?.toISOString() ?? null, revoked_at: r.revoked_at?.toISOString() ?? null,
});

export class ApiTokens {
  constructor(private readonly pool: Pool) {}

  async create(user: { id: string; username: string }, name: string): Promise<{ token: string; info: ApiTokenView }> {
    const token = `st_${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.pool.query('insert into api_tokens (id, user_id, username, name, token_hash) values ($1, $2, $3, $4, $5) returning *', [randomUUID(), user.id, user.username, name, hash(token)]);
    return { token, info: view(rows[0]) };
  }

  async list(userId: string): Promise<ApiTokenView[]> {
    const { rows } = await this.pool.query('select * from api_tokens where user_id = $1 order by created_at desc limit 100', [userId]);
    return rows.map(view);
  }

  /** Whether a live token of this user was revoked now. */
  async revoke(userId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('update api_tokens set revoked_at = now() where id = $1 and user_id = $2 and revoked_at is null', [id, userId]);
    return rowCount === 1;
  }

  /** The user of a live token (and marks it used); undefined for anything else. */
  async verify(token: string): Promise<TokenUser | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const { rows } = await this.pool.query<{ id: string; user_id: string; username: string }>(
      'update api_tokens set last_used_at = now() where token_hash = $1 and revoked_at is null returning id, user_id, username', [hash(token)]);
    return rows[0] && { id: rows[0].user_id, username: rows[0].username, token_id: rows[0].id };
  }
}
