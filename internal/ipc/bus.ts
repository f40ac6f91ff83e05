// Redis pub/sub transport of the mewld protocol: publish, subscribe with validation at the edge,
// and request/reply by command_id with a timeout (pending requests are rejected on close).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedis } from '../redis';
import { type Incoming, type IpcMessage, parseIncoming } from './messages';

export interface IpcBusOptions {
  redisUrl: string;
  /** The main channel (`clusterer.redis_channel`). */
  channel: string;
  /** Extra channels to listen on (a cluster's `<channel>:<id>`). */
  extraChannels?: string[];
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

export class IpcBus {
  readonly pub: Redis;
  private readonly sub: Redis;
  private readonly pending = new Map<string, Pending>();
  private handler: IncomingHandler = () => {};
  private closed = false;

  constructor(private readonly options: IpcBusOptions) {
    this.pub = createRedis(options.redisUrl, options.logger, `${options.name}-pub`);
    this.sub = createRedis(options.redisUrl, options.logger, `${options.name}-sub`);
    this.sub.on('message', (channel: string, raw: string) => this.receive(channel, raw));
  }

  get channel(): string {
    return this.options.channel;
  }

  onMessage(handler: IncomingHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.options.channel, ...(this.options.extraChannels ?? []));
  }

  async publish(message: IpcMessage | Record<string, unknown>, channel = this.options.channel): Promise<void> {
    await this.pub.publish(channel, JSON.stringify(message));
  }

  /** The one reply to a request: `{command_id, output, scope: "bot", action}`. */
  async reply(request: { command_id?: string; action: string }, output: unknown): Promise<void> {
    if (!request.command_id) return;
    await this.publish({ command_id: request.command_id, output, scope: 'bot', action: request.action });
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
