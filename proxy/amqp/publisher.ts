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
    this.connection = new AmqpConnection({
      url: options.url,
      logger: options.logger,
      onChannel: (channel) => this.declare(channel).then(() => void this.pump()),
    });
  }

  async start(): Promise<void> {
    void this.connection.start();
  }

  publish(event: GatewayEvent): void {
    this.buffer.push(event);
    if (this.buffer.length > this.options.bufferMax) {
      this.buffer.shift();
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

  /** One loop at a time publishes batches in order; a failed batch stays for the next connection. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const channel = this.connection.channel;
        if (!channel || this.buffer.length === 0) return;
        const batch = this.buffer.slice(0, this.options.batchSize ?? 500);
        try {
          for (const event of batch) {
            const ok = channel.publish(this.options.exchange, event.t, Buffer.from(JSON.stringify(event)), { persistent: true, contentType: 'application/json' });
            if (!ok) await new Promise((r) => channel.once('drain', r));
          }
          await channel.waitForConfirms();
        } catch (err) {
          this.options.logger.warn({ err: (err as Error).message, pending: this.buffer.length }, 'AMQP publish not confirmed; will retry after reconnect');
          return;
        }
        // The buffer may have shifted on overflow meanwhile: remove exactly the confirmed events.
        const start = this.buffer.indexOf(batch[0]!);
        if (start >= 0) this.buffer.splice(start, batch.length);
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
