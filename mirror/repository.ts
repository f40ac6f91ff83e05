// Mirror state in Postgres: links, one-time link codes and the id map. One SQL statement per function.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

export interface MirrorLink {
  id: number;
  source_guild_id: string;
  source_channel_id: string;
  target_guild_id: string;
  target_channel_id: string;
  webhook_id: string;
  webhook_token: string;
  created_by: string;
}

export interface LinkCode {
  code: string;
  source_guild_id: string;
  source_channel_id: string;
  two_way: boolean;
  created_by: string;
}

/** An id map row: `target_message_id` null while the send is pending (or its outcome unknown). */
export interface MappedMessage {
  link_id: number;
  source_message_id: string;
  target_message_id: string | null;
  /** Seconds since the pending row was written, by the database's clock (all nodes agree on it). */
  age_seconds: number;
}

export const CODE_TTL_MINUTES = 10;

export class MirrorRepository {
  constructor(private readonly pool: pg.Pool) {}

  async linksFrom(sourceChannelId: string): Promise<MirrorLink[]> {
    return (await this.pool.query<MirrorLink>('select * from mirror_links where source_channel_id = $1 order by id', [sourceChannelId])).rows;
  }

  /** True when `webhookId` is one of our link webhooks: its messages are mirrors, never mirrored again. */
  async isLinkWebhook(webhookId: string): Promise<boolean> {
    return (await this.pool.query('select 1 from mirror_links where webhook_id = $1', [webhookId])).rowCount === 1;
  }

  async linksOfGuild(guildId: string): Promise<MirrorLink[]> {
    return (await this.pool.query<MirrorLink>('select * from mirror_links where source_guild_id = $1 or target_guild_id = $1 order by id', [guildId])).rows;
  }

  async createLink(link: Omit<MirrorLink, 'id'>): Promise<MirrorLink> {
    const { rows } = await this.pool.query<MirrorLink>(
      `insert into mirror_links (source_guild_id, source_channel_id, target_guild_id, target_channel_id, webhook_id, webhook_token, created_by)
       values ($1, $2, $3, $4, $5, $6, $7) returning *`,
      [link.source_guild_id, link.source_channel_id, link.target_guild_id, link.target_channel_id, link.webhook_id, link.webhook_token, link.created_by],
    );
    return rows[0]!;
  }

  /** Removes a link that touches `guildId` (either side may unlink); returns it, or undefined. */
  async deleteLink(id: number, guildId: string): Promise<MirrorLink | undefined> {
    const { rows } = await this.pool.query<MirrorLink>('delete from mirror_links where id = $1 and (source_guild_id = $2 or target_guild_id = $2) returning *', [id, guildId]);
    return rows[0];
  }

  /** A deleted channel ends every link it was a side of. */
  async deleteLinksOfChannel(channelId: string): Promise<MirrorLink[]> {
    return (await this.pool.query<MirrorLink>('delete from mirror_links where source_channel_id = $1 or target_channel_id = $1 returning *', [channelId])).rows;
  }

  /** The bot left (or was removed from) a guild: its links end. */
  async deleteLinksOfGuild(guildId: string): Promise<MirrorLink[]> {
    return (await this.pool.query<MirrorLink>('delete from mirror_links where source_guild_id = $1 or target_guild_id = $1 returning *', [guildId])).rows;
  }

  /** Our webhook was deleted in the target: the link cannot post any more. */
  async deleteLinksOfWebhook(webhookId: string): Promise<void> {
    await this.pool.query('delete from mirror_links where webhook_id = $1', [webhookId]);
  }

  async createCode(code: Omit<LinkCode, 'code'>): Promise<string> {
    const value = randomBytes(6).toString('base64url');
    await this.pool.query(
      `insert into mirror_codes (code, source_guild_id, source_channel_id, two_way, created_by, expires_at)
       values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6))`,
      [value, code.source_guild_id, code.source_channel_id, code.two_way, code.created_by, CODE_TTL_MINUTES],
    );
    return value;
  }

  /** Takes a code once: a used or expired code is gone. */
  async takeCode(code: string): Promise<LinkCode | undefined> {
    const { rows } = await this.pool.query<LinkCode>('delete from mirror_codes where code = $1 and expires_at > now() returning *', [code]);
    return rows[0];
  }

  async mapped(linkId: number, sourceMessageId: string): Promise<MappedMessage | undefined> {
    const { rows } = await this.pool.query<MappedMessage>(
      'select link_id, source_message_id, target_message_id, extract(epoch from now() - created_at)::float8 as age_seconds from mirror_messages where link_id = $1 and source_message_id = $2',
      [linkId, sourceMessageId],
    );
    return rows[0];
  }

  /** Writes the pending row before a send; false when one exists already (a redelivery). */
  async markPending(linkId: number, sourceMessageId: string, ttlDays: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `insert into mirror_messages (link_id, source_message_id, expires_at) values ($1, $2, now() + make_interval(days => $3))
       on conflict do nothing`,
      [linkId, sourceMessageId, ttlDays],
    );
    return rowCount === 1;
  }

  /** A pending row found again by a redelivery starts a new send window. */
  async restartPending(linkId: number, sourceMessageId: string): Promise<void> {
    await this.pool.query('update mirror_messages set created_at = now() where link_id = $1 and source_message_id = $2 and target_message_id is null', [linkId, sourceMessageId]);
  }

  async markSent(linkId: number, sourceMessageId: string, targetMessageId: string): Promise<void> {
    await this.pool.query('update mirror_messages set target_message_id = $3 where link_id = $1 and source_message_id = $2', [linkId, sourceMessageId, targetMessageId]);
  }

  /** Target messages of a link among `ids` that are already mapped (to exclude when searching). */
  async mappedTargets(linkId: number, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.pool.query<{ target_message_id: string }>(
      'select target_message_id from mirror_messages where link_id = $1 and target_message_id = any($2)',
      [linkId, ids],
    );
    return new Set(rows.map((r) => r.target_message_id));
  }

  async forget(linkId: number, sourceMessageId: string): Promise<void> {
    await this.pool.query('delete from mirror_messages where link_id = $1 and source_message_id = $2', [linkId, sourceMessageId]);
  }

  /** Expired id map rows and link codes; returns how many rows went. */
  async deleteExpired(): Promise<number> {
    const messages = await this.pool.query('delete from mirror_messages where expires_at < now()');
    const codes = await this.pool.query('delete from mirror_codes where expires_at < now()');
    return (messages.rowCount ?? 0) + (codes.rowCount ?? 0);
  }
}
