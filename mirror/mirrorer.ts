// What a mirror node does with one event, per link of its source channel. Runs inside the source
// channel's lane, so a channel's creates, edits and deletes reach each target in source order.
//
// Execute Webhook has no nonce, so a send is made idempotent here: the id map row is written
// 'pending' first; a delivery that finds a pending row (the node that sent it died, or lost its
// AMQP connection, before the ack) waits out the first send's window, then looks for the message
// among the target's recent messages before sending again. The marker it looks for is one we
// control: the link's own webhook (each link has one, used by nothing else, and a lane sends one
// message at a time), a message of it not yet in the id map, with the same content.
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { type APIMessage, MessageType, Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import type { MirrorEvent } from './events';
import { renderCreate, renderEdit } from './render';
import type { MappedMessage, MirrorLink, MirrorRepository } from './repository';

/** A webhook call is abandoned after this long; a redelivery trusts a pending row only once it is older (plus a margin). */
export const SEND_WINDOW_MS = 10_000;
const SEND_MARGIN_MS = 2_000;
const DISCORD_EPOCH = 1420070400000n;
const MIRRORED_TYPES = new Set<number>([MessageType.Default, MessageType.Reply]);

export interface MirrorerOptions {
  repo: MirrorRepository;
  rest: REST;
  logger: Logger;
  cdn: string;
  idMapTtlDays: number;
  /** Aborted when the node stops: waits and retries end, the delivery is left unacked for the next node. */
  signal: AbortSignal;
  onSent?: (link: MirrorLink, sourceMessageId: string) => void;
}

export type Outcome = 'mirrored' | 'ignored';

export class Mirrorer {
  constructor(private readonly o: MirrorerOptions) {}

  async handle(event: MirrorEvent): Promise<Outcome> {
    switch (event.kind) {
      case 'create': {
        const m = event.message;
        if (!m.guild_id || !MIRRORED_TYPES.has(m.type) || (m.webhook_id && (await this.o.repo.isLinkWebhook(m.webhook_id)))) return 'ignored';
        const links = await this.o.repo.linksFrom(event.channelId);
        for (const link of links) await this.create(link, m);
        return links.length ? 'mirrored' : 'ignored';
      }
      case 'update': {
        if (event.message.webhook_id && (await this.o.repo.isLinkWebhook(event.message.webhook_id))) return 'ignored';
        const links = await this.o.repo.linksFrom(event.channelId);
        if (!links.length) return 'ignored';
        const m = await this.complete(event.channelId, event.message);
        if (!m) return 'ignored';
        for (const link of links) await this.edit(link, m);
        return 'mirrored';
      }
      case 'delete': {
        const links = await this.o.repo.linksFrom(event.channelId);
        for (const link of links) for (const id of event.ids) await this.delete(link, id);
        return links.length ? 'mirrored' : 'ignored';
      }
      case 'channel_delete': {
        const gone = await this.o.repo.deleteLinksOfChannel(event.channelId);
        if (gone.length) this.o.logger.info({ channel: event.channelId, links: gone.map((l) => l.id) }, 'channel deleted: its links removed');
        return gone.length ? 'mirrored' : 'ignored';
      }
      case 'guild_delete': {
        const gone = await this.o.repo.deleteLinksOfGuild(event.guildId);
        if (gone.length) this.o.logger.info({ guild: event.guildId, links: gone.map((l) => l.id) }, 'bot left a guild: its links removed');
        return gone.length ? 'mirrored' : 'ignored';
      }
    }
  }

  private async create(link: MirrorLink, m: APIMessage): Promise<void> {
    const body = renderCreate(m, { cdn: this.o.cdn, replyLink: await this.replyLink(link, m) });
    if (!body) return;
    for (;;) {
      const row = await this.o.repo.mapped(link.id, m.id);
      if (row?.target_message_id) return;
      if (row) {
        // An earlier delivery's send: wait out its window, then it is either in the target or was never posted.
        const waitMs = SEND_WINDOW_MS + SEND_MARGIN_MS - row.age_seconds * 1000;
        if (waitMs > 0) {
          await sleep(waitMs, this.o.signal);
          continue;
        }
        const found = await this.findPosted(link, row, body.content ?? '');
        if (found) {
          await this.o.repo.markSent(link.id, m.id, found);
          this.o.logger.info({ link: link.id, source: m.id, target: found }, 'redelivered message was already posted: recorded, not sent again');
          return;
        }
        await this.o.repo.restartPending(link.id, m.id);
      } else if (!(await this.o.repo.markPending(link.id, m.id, this.o.idMapTtlDays))) continue;
      const posted = await this.send(link, () =>
        this.o.rest.post(Routes.webhook(link.webhook_id, link.webhook_token), {
          body, auth: false, query: new URLSearchParams({ wait: 'true' }), signal: AbortSignal.any([this.o.signal, AbortSignal.timeout(SEND_WINDOW_MS)]),
        }) as Promise<APIMessage>,
      );
      if (posted === 'gone') return void (await this.o.repo.forget(link.id, m.id));
      await this.o.repo.markSent(link.id, m.id, posted.id);
      this.o.onSent?.(link, m.id);
      return;
    }
  }

  /** The link webhook's message with this content, posted since the pending row and not mapped to another source message. */
  private async findPosted(link: MirrorLink, row: MappedMessage, content: string): Promise<string | undefined> {
    // A minute before the pending row by the local clock: node and Discord clocks may differ a little.
    let after = ((BigInt(Date.now() - Math.ceil(row.age_seconds * 1000) - 60_000) - DISCORD_EPOCH) << 22n).toString();
    for (let page = 0; page < 20; page++) {
      const messages = (await this.o.rest.get(Routes.channelMessages(link.target_channel_id), {
        query: new URLSearchParams({ after, limit: '100' }), signal: this.o.signal,
      })) as APIMessage[];
      const ours = messages.filter((x) => x.webhook_id === link.webhook_id && x.content === content);
      const mapped = await this.o.repo.mappedTargets(link.id, ours.map((x) => x.id));
      const match = ours.filter((x) => !mapped.has(x.id)).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))[0];
      if (match) return match.id;
      if (messages.length < 100) return undefined;
      after = messages.reduce((max, x) => (BigInt(x.id) > BigInt(max) ? x.id : max), after);
    }
    return undefined;
  }

  /**
   * The whole message of an update. Discord sends it whole today, but older gateways and other
   * proxies send only what changed: rendering that would drop the reply line or the content, so a
   * partial one is read back from the channel. undefined when the message is gone meanwhile.
   */
  private async complete(channelId: string, m: Partial<APIMessage> & { id: string }): Promise<(Partial<APIMessage> & { id: string }) | undefined> {
    if (m.type !== undefined && m.content !== undefined) return m;
    try {
      return (await this.o.rest.get(Routes.channelMessage(channelId, m.id), { signal: this.o.signal })) as APIMessage;
    } catch (err) {
      if (err instanceof DiscordAPIError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async edit(link: MirrorLink, m: Partial<APIMessage> & { id: string }): Promise<void> {
    const row = await this.o.repo.mapped(link.id, m.id);
    if (!row?.target_message_id) return;
    const body = renderEdit(m, { cdn: this.o.cdn, replyLink: await this.replyLink(link, m) });
    if (!body) return;
    const target = row.target_message_id;
    const result = await this.send(link, () => this.o.rest.patch(Routes.webhookMessage(link.webhook_id, link.webhook_token, target), { body, auth: false, signal: this.o.signal }));
    if (result === 'gone') await this.o.repo.forget(link.id, m.id);
  }

  private async delete(link: MirrorLink, sourceId: string): Promise<void> {
    const row = await this.o.repo.mapped(link.id, sourceId);
    if (!row) return;
    if (row.target_message_id) {
      const target = row.target_message_id;
      await this.send(link, () => this.o.rest.delete(Routes.webhookMessage(link.webhook_id, link.webhook_token, target), { auth: false, signal: this.o.signal }));
    }
    await this.o.repo.forget(link.id, sourceId);
  }

  private async replyLink(link: MirrorLink, m: Partial<APIMessage>): Promise<string | undefined> {
    const replied = m.type === MessageType.Reply ? m.message_reference?.message_id : undefined;
    if (!replied) return undefined;
    const row = await this.o.repo.mapped(link.id, replied);
    return row?.target_message_id ? `https://discord.com/channels/${link.target_guild_id}/${link.target_channel_id}/${row.target_message_id}` : undefined;
  }

  /**
   * One webhook call. A failure that may pass (5xx, network, timeout) throws: the lane retries the
   * whole event, which the id map makes safe. 'gone' when Discord says the message is gone; a
   * webhook deleted in the target ends its link; other 4xx are the message's own problem (logged, skipped).
   */
  private async send<T>(link: MirrorLink, call: () => Promise<T>): Promise<T | 'gone'> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof DiscordAPIError) || err.status >= 500 || err.status === 429) throw err;
      if (err.code === 10008) return 'gone';
      if (err.code === 10015 || err.code === 50027) {
        await this.o.repo.deleteLinksOfWebhook(link.webhook_id);
        this.o.logger.warn({ link: link.id, code: err.code }, 'link webhook deleted in the target: link removed');
        return 'gone';
      }
      this.o.logger.warn({ link: link.id, code: err.code, status: err.status, error: err.message }, 'Discord refused a mirrored message; skipped');
      return 'gone';
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
