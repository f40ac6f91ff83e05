// Who opted in to member restore, and their OAuth2 tokens (encrypted, token-cipher.ts), in
// Postgres. An access token is refreshed through the refresh_token grant when it is about to
// expire, or when Discord refused it (pass it as `failed`); the row is locked meanwhile, so two
// jobservers never spend one refresh token twice. A refresh Discord refuses means the user took
// the authorization back: their tokens and opt-ins are deleted.
import type pg from 'pg';
import { inTransaction } from '../db/pool';
import type { RESTPostOAuth2AccessTokenResult } from 'discord-api-types/v10';
import { type DiscordOAuth, GrantRefused } from './discord-oauth';
import type { TokenCipher } from './token-cipher';

/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60 * 60_000;

/** The user's authorization is gone (revoked on Discord, or opted out meanwhile). */
export class NotAuthorized extends Error {
  override name = 'NotAuthorized';
}

export class MemberRestoreStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly cipher: TokenCipher,
    private readonly oauth: DiscordOAuth,
  ) {}

  /** Stores (or replaces) the user's tokens and opts them in for `guildId`, in one transaction. */
  async optIn(userId: string, guildId: string, grant: RESTPostOAuth2AccessTokenResult): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await this.write(client, userId, grant, 'insert');
      await client.query('insert into member_restore_optins (guild_id, user_id) values ($1, $2) on conflict do nothing', [guildId, userId]);
    });
  }

  private async write(db: pg.Pool | pg.PoolClient, userId: string, grant: RESTPostOAuth2AccessTokenResult, how: 'insert' | 'update'): Promise<void> {
    const values = [userId, this.cipher.seal(userId, 'access_token', grant.access_token), this.cipher.seal(userId, 'refresh_token', grant.refresh_token), grant.scope, new Date(Date.now() + grant.expires_in * 1000)];
    await db.query(
      how === 'insert'
        ? `insert into member_restore_tokens (user_id, access_token, refresh_token, scope, expires_at) values ($1, $2, $3, $4, $5)
           on conflict (user_id) do update set access_token = $2, refresh_token = $3, scope = $4, expires_at = $5, updated_at = now()`
        : 'update member_restore_tokens set access_token = $2, refresh_token = $3, scope = $4, expires_at = $5, updated_at = now() where user_id = $1',
      values,
    );
  }

  async guildsOf(userId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ guild_id: string }>('select guild_id from member_restore_optins where user_id = $1 order by guild_id', [userId]);
    return rows.map((r) => r.guild_id);
  }

  /** Users opted in for any of `guildIds`, in id order. */
  async usersFor(guildIds: string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ user_id: string }>('select distinct user_id from member_restore_optins where guild_id = any($1) order by user_id', [guildIds]);
    return rows.map((r) => r.user_id);
  }

  /**
   * Withdraws the opt-in for `guildId`, or every opt-in when it is undefined. Tokens no opt-in
   * needs any more are deleted; their refresh token is returned so the caller revokes it on Discord.
   */
  async optOut(userId: string, guildId?: string): Promise<{ removed: number; revoke?: string }> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const removed = guildId === undefined
        ? await client.query('delete from member_restore_optins where user_id = $1', [userId])
        : await client.query('delete from member_restore_optins where user_id = $1 and guild_id = $2', [userId, guildId]);
      const gone = await client.query<{ refresh_token: Buffer }>(
        'delete from member_restore_tokens t where user_id = $1 and not exists (select 1 from member_restore_optins o where o.user_id = t.user_id) returning refresh_token',
        [userId],
      );
      await client.query('commit');
      const sealed = gone.rows[0]?.refresh_token;
      return { removed: removed.rowCount ?? 0, ...(sealed ? { revoke: this.cipher.open(userId, 'refresh_token', sealed) } : {}) };
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * A live access token of the user (refreshed first when it expires within REFRESH_MARGIN_MS,
   * or when it is `failed`, the one Discord just refused). Throws NotAuthorized when the user has
   * no tokens or Discord refuses the refresh.
   */
  async accessToken(userId: string, failed?: string): Promise<string> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ access_token: Buffer; refresh_token: Buffer; expires_at: Date }>(
        'select access_token, refresh_token, expires_at from member_restore_tokens where user_id = $1 for update',
        [userId],
      );
      const row = rows[0];
      if (!row) throw new NotAuthorized(`user ${userId} has no member-restore authorization`);
      const current = this.cipher.open(userId, 'access_token', row.access_token);
      if (current !== failed && row.expires_at.getTime() - Date.now() > REFRESH_MARGIN_MS) {
        await client.query('commit');
        return current;
      }
      let grant: RESTPostOAuth2AccessTokenResult;
      try {
        grant = await this.oauth.refresh(this.cipher.open(userId, 'refresh_token', row.refresh_token));
      } catch (err) {
        if (!(err instanceof GrantRefused)) throw err;
        await client.query('delete from member_restore_tokens where user_id = $1', [userId]);
        await client.query('commit');
        throw new NotAuthorized(`user ${userId} took back the authorization (${err.message})`);
      }
      await this.write(client, userId, grant, 'update');
      await client.query('commit');
      return grant.access_token;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
