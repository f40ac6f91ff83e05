// Every dispatch to RabbitMQ, twilight-dispatch style: durable topic exchange, routing key =
// event name, body {op, t, d, s, shard, old?}. Published in order through one confirm channel;
// a batch leaves the buffer only once the broker confirmed it, so a broker outage delays
// events but loses none (bounded by buffer_max_events; overflow is counted and logged).
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AmqpConnection } from '../../internal/amqp';

export interface GatewayEvent {
  op: 0;
  t: string;
  d: unknown;
  s: number;
  shard: number;
  old?: unknown;
}

export interface PublisherOptions {
  url: string;
  exchange: string;
  defaultQueue: boolean;
  bufferMax: number;
  logger: Logger;
  registry: Registry;
  batchSize?: number;
}

export class EventPublisher {
  private readonly buffer: GatewayEvent[] = [];
  private readonly connection: AmqpConnection;
  private pumping = false;
  /** Events at the head of the buffer that the current batch has published, unconfirmed yet. */
  private inFlight = 0;
  private lastOverflowLog = 0;
  private readonly published: Counter;
  private readonly dropped: Counter;

  constructor(private readonly options: PublisherOptions) {
    this.published = new Counter({ name: 'proxy_amqp_published_total', help: 'Events confirmed by RabbitMQ', registers: [options.registry] });
    this.dropped = new Counter({ name: 'proxy_amqp_dropped_total', help: 'Events dropped because the AMQP buffer was full', registers: [options.registry] });
    const buffer = this.buffer;
    new Gauge({
      name: 'proxy_amqp_buffered',
      help: 'Events waiting for RabbitMQ',
      registers: [options.registry],
      collect() {
        this.set(buffer.length);
      },
    });
    const connected = () => (this.connection.channel ? 1 : 0);
    new Gauge({ name: 'proxy_amqp_connected', help: '1 while the publisher has a RabbitMQ channel', registers: [options.registry], collect() { this.set(connected()); } });
    this.connection = new AmqpConnection({
      url: options.url,
      logger: options.logger,
      onChannel: (channel) => this.declare(channel),
      onReady: () => void this.pump(),
    });
  }

  async start(): Promise<void> {
    void this.connection.start();
  }

  publish(event: GatewayEvent): void {
    this.buffer.push(event);
    if (this.buffer.length > this.options.bufferMax) {
      // The oldest event not being published now: a batch in flight must stay the buffer's head.
      this.buffer.splice(this.inFlight, 1);
      this.dropped.inc();
      if (Date.now() - this.lastOverflowLog > 5_000) {
        this.lastOverflowLog = Date.now();
        this.options.logger.error({ bufferMax: this.options.bufferMax }, 'AMQP buffer full: dropping the oldest events (proxy_amqp_dropped_total)');
      }
    }
    void this.pump();
  }

  get pending(): number {
    return this.buffer.length;
  }

  private async declare(channel: ConfirmChannel): Promise<void> {
    await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
    if (this.options.defaultQueue) {
      const queue = `${this.options.exchange}.recv`;
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, this.options.exchange, '#');
    }
  }

  /**
   * One loop at a time publishes batches in order; a failed batch stays for the next connection.
   * Every wait in it (socket drain, confirms) ends when the channel closes, so a connection lost
   * while backpressured ends the loop and the next channel starts a new one.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const channel = this.connection.channel;
        if (!channel || this.buffer.length === 0) return;
        const batch = this.buffer.slice(0, this.options.batchSize ?? 500);
        this.inFlight = batch.length;
        try {
          for (const event of batch) {
            const ok = channel.publish(this.options.exchange, event.t, Buffer.from(JSON.stringify(event)), { persistent: true, contentType: 'application/json' });
            if (!ok) await drained(channel);
          }
          await channel.waitForConfirms();
        } catch (err) {
          this.options.logger.warn({ err: (err as Error).message, pending: this.buffer.length }, 'AMQP publish not confirmed; will retry');
          // A nack leaves the channel open: no reconnect will restart the loop, so retry soon.
          if (this.connection.channel === channel) setTimeout(() => void this.pump(), 1_000).unref();
          return;
        } finally {
          this.inFlight = 0;
        }
        // Overflow never drops in-flight events, so the confirmed batch is still the buffer's head.
        this.buffer.splice(0, batch.length);
        this.published.inc(batch.length);
      }
    } finally {
      this.pumping = false;
    }
  }

  async close(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && this.connection.channel && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.connection.close();
  }
}

/** Resolves when the channel can take more; rejects when it closes first (it never drains then). */
function drained(channel: ConfirmChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      channel.off('drain', onDrain);
      channel.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('channel closed while waiting for drain'));
    channel.on('drain', onDrain);
    channel.on('close', onClose);
  });
}
