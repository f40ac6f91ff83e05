// An amqplib connection that comes back: on loss it reconnects with capped backoff and
// hands the new confirm channel to `onChannel`, where the caller re-declares its topology.
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';

export interface AmqpOptions {
  url: string;
  logger: Logger;
  onChannel: (channel: ConfirmChannel) => Promise<void> | void;
  onLost?: () => void;
}

export class AmqpConnection {
  private connection: ChannelModel | undefined;
  private closed = false;
  private attempt = 0;
  channel: ConfirmChannel | undefined;

  constructor(private readonly options: AmqpOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.closed) {
      try {
        const connection = await amqp.connect(this.options.url);
        const channel = await connection.createConfirmChannel();
        this.connection = connection;
        connection.on('error', (err) => this.options.logger.warn({ err: err.message }, 'amqp connection error'));
        connection.on('close', () => this.lost());
        this.attempt = 0;
        this.channel = channel;
        await this.options.onChannel(channel);
        this.options.logger.info('amqp connected');
        return;
      } catch (err) {
        this.attempt += 1;
        const delay = Math.min(this.attempt * 250, 5_000);
        this.options.logger.warn({ err: (err as Error).message, delay }, 'amqp connect failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private lost(): void {
    this.channel = undefined;
    this.connection = undefined;
    if (this.closed) return;
    this.options.logger.warn('amqp connection lost; reconnecting');
    this.options.onLost?.();
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close().catch(() => {});
  }
}
