// An amqplib connection that comes back: on loss it reconnects with capped backoff and
// hands the new confirm channel to `onChannel`, where the caller re-declares its topology.
// Every failure takes one path: a channel closed by the broker (404, 406, ...) closes its
// connection, and a closed connection is replaced by a new one with a new channel.
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';

export interface AmqpOptions {
  url: string;
  logger: Logger;
  onChannel: (channel: ConfirmChannel) => Promise<void> | void;
  /** After onChannel: `channel` is set and the topology declared. */
  onReady?: () => void;
  onLost?: () => void;
}

export class AmqpConnection {
  /** The connection whose loss triggers a reconnect; one still being set up fails its attempt instead. */
  private current: ChannelModel | undefined;
  private closed = false;
  private attempt = 0;
  channel: ConfirmChannel | undefined;

  constructor(private readonly options: AmqpOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.closed) {
      let connection: ChannelModel | undefined;
      try {
        connection = await amqp.connect(this.options.url);
        const model = connection;
        let dead = false;
        model.on('error', (err: Error) => this.options.logger.warn({ err: err.message }, 'amqp connection error'));
        model.on('close', () => {
          dead = true;
          this.lost(model);
        });
        const channel = await model.createConfirmChannel();
        channel.on('error', (err: Error) => this.options.logger.warn({ err: err.message }, 'amqp channel error'));
        channel.on('close', () => void model.close().catch(() => {}));
        await this.options.onChannel(channel);
        if (dead) throw new Error('connection closed while declaring');
        if (this.closed) return void (await model.close().catch(() => {}));
        this.current = model;
        this.channel = channel;
        this.attempt = 0;
        this.options.logger.info('amqp connected');
        this.options.onReady?.();
        return;
      } catch (err) {
        await connection?.close().catch(() => {});
        this.attempt += 1;
        const delay = Math.min(this.attempt * 250, 5_000);
        this.options.logger.warn({ err: (err as Error).message, delay }, 'amqp connect failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private lost(connection: ChannelModel): void {
    if (connection !== this.current) return;
    this.current = undefined;
    this.channel = undefined;
    if (this.closed) return;
    this.options.logger.warn('amqp connection lost; reconnecting');
    this.options.onLost?.();
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.current;
    this.current = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => {});
  }
}
