// Redis pub/sub transport of the mewld protocol: publish, subscribe with validation at the edge,
// and request/reply by command_id with a timeout (pending requests are rejected on close).
// Publishing fails at once while Redis is down (never queued), and never sends more than
// MAX_MESSAGE_BYTES: Redis drops every subscriber of a channel that receives a message over its
// pub/sub output-buffer limit, and pub/sub keeps nothing for a subscriber that is reconnecting.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedis } from '../redis';
import { type Incoming, type IpcMessage, MAX_MESSAGE_BYTES, parseIncoming } from './messages';

export interface IpcBusOptions {
  redisUrl: string;
  /** The main channel (`clusterer.redis_channel`). */
  channel: string;
  logger: Logger;
  name: string;
}

export type IncomingHandler = (incoming: Incoming, channel: string) => void;

interface Pending {
  resolve: (message: IpcMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class IpcTimeoutError extends Error {}
/** Redis is not connected: the message was not sent (nothing is queued for later). */
export class IpcUnavailableError extends Error {}
export class IpcTooLargeError extends Error {}

export class IpcBus {
  readonly pub: Redis;
  private readonly sub: Redis;
  private readonly pending = new Map<string, Pending>();
  private handler: IncomingHandler = () => {};
  private closed = false;

  constructor(private readonly options: IpcBusOptions) {
    this.pub = createRedis(options.redisUrl, options.logger, `${options.name}-pub`, { failFast: true });
    this.sub = createRedis(options.redisUrl, options.logger, `${options.name}-sub`);
    this.sub.on('message', (channel: string, raw: string) => this.receive(channel, raw));
  }

  get channel(): string {
    return this.options.channel;
  }

  onMessage(handler: IncomingHandler): void {
    this.handler = handler;
  }

  /** Whether a publish can go out now. */
  get connected(): boolean {
    return this.pub.status === 'ready';
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.options.channel);
    if (this.pub.status !== 'ready') await once(this.pub, 'ready');
  }

  async publish(message: IpcMessage | Record<string, unknown>, channel = this.options.channel): Promise<void> {
    const raw = JSON.stringify(message);
    const bytes = Buffer.byteLength(raw);
    if (bytes > MAX_MESSAGE_BYTES) throw new IpcTooLargeError(`IPC message of ${bytes} bytes not sent (limit ${MAX_MESSAGE_BYTES})`);
    if (this.pub.status !== 'ready') throw new IpcUnavailableError(`IPC unavailable: Redis is not connected (${this.pub.status})`);
    await this.pub.publish(channel, raw);
  }

  /** The one reply to a request: `{command_id, output, scope: "bot", action}`; an output too large to send becomes an error. */
  async reply(request: { command_id?: string; action: string }, output: unknown): Promise<void> {
    if (!request.command_id) return;
    const envelope = { command_id: request.command_id, scope: 'bot', action: request.action };
    try {
      await this.publish({ ...envelope, output });
    } catch (err) {
      if (!(err instanceof IpcTooLargeError)) throw err;
      await this.publish({ ...envelope, output: { error: `reply too large: ${err.message}` } });
    }
  }

  /** Sends `{scope, action, args, command_id}` and resolves with the reply carrying that command_id. */
  request(action: string, args?: Record<string, unknown>, options: { scope?: string; timeoutMs?: number } = {}): Promise<IpcMessage> {
    if (this.closed) return Promise.reject(new Error('IPC bus closed'));
    const commandId = randomUUID();
    const timeoutMs = options.timeoutMs ?? 5_000;
    return new Promise<IpcMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        reject(new IpcTimeoutError(`no reply to IPC ${action} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(commandId, { resolve, reject, timer });
      this.publish({ scope: options.scope ?? 'launcher', action, ...(args ? { args } : {}), command_id: commandId }).catch((err: Error) => {
        clearTimeout(timer);
        this.pending.delete(commandId);
        reject(err);
      });
    });
  }

  private receive(channel: string, raw: string): void {
    const incoming = parseIncoming(raw);
    if (incoming.kind === 'message') {
      const { command_id: commandId, scope } = incoming.message;
      const pending = commandId && scope === 'bot' ? this.pending.get(commandId) : undefined;
      if (pending && commandId) {
        clearTimeout(pending.timer);
        this.pending.delete(commandId);
        pending.resolve(incoming.message);
        return;
      }
    }
    try {
      this.handler(incoming, channel);
    } catch (err) {
      this.options.logger.error({ err, channel }, 'IPC handler failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error('IPC bus closed'));
      this.pending.delete(id);
    }
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
