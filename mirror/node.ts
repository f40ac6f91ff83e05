// One mirror node's consumers: the router (input queue to partitions) and the partition
// consumers (deliveries into per-channel lanes). A delivery is acked only after its work is
// done, on the AMQP channel it came from; one that fails for a passing reason is retried in its
// lane (so the channel's order holds), and one left when the node stops goes to the next node.
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { AmqpConnection } from '../internal/amqp';
import { laneKey, parseEvent } from './events';
import { Lanes } from './lanes';
import { type Mirrorer, type Outcome, sleep } from './mirrorer';
import { declareTopology, inputQueue, partitionOf, partitionQueue } from './queues';

export interface MirrorNodeOptions {
  url: string;
  exchange: string;
  prefix: string;
  partitions: number;
  prefetch: number;
  logger: Logger;
  mirrorer: Mirrorer;
  signal: AbortSignal;
  onHandled?: (event: string, outcome: Outcome | 'invalid' | 'retried') => void;
}

const ROUTER_PREFETCH = 1_000;

export class MirrorNode {
  readonly lanes = new Lanes();
  private readonly connection: AmqpConnection;
  private consumers: { channel: ConfirmChannel; tags: string[] } | undefined;

  constructor(private readonly o: MirrorNodeOptions) {
    this.connection = new AmqpConnection({
      url: o.url,
      logger: o.logger,
      onChannel: (channel) => this.setUp(channel),
    });
  }

  get connected(): boolean {
    return this.connection.channel !== undefined;
  }

  start(): void {
    void this.connection.start();
  }

  private async setUp(channel: ConfirmChannel): Promise<void> {
    const { exchange, prefix, partitions } = this.o;
    await declareTopology(channel, exchange, prefix, partitions);
    const tags: string[] = [];
    await channel.prefetch(ROUTER_PREFETCH);
    tags.push((await channel.consume(inputQueue(prefix), (msg) => msg && this.route(channel, msg))).consumerTag);
    await channel.prefetch(this.o.prefetch);
    for (let n = 0; n < partitions; n++) {
      tags.push((await channel.consume(partitionQueue(prefix, n), (msg) => msg && this.work(channel, msg))).consumerTag);
    }
    this.consumers = { channel, tags };
  }

  /** Input queue to the source channel's partition; acked once RabbitMQ confirmed the copy. */
  private route(channel: ConfirmChannel, msg: ConsumeMessage): void {
    const parsed = parseEvent(msg.content);
    if (!parsed.ok) {
      this.o.logger.debug({ error: parsed.error }, 'event not routed');
      return safely(() => channel.ack(msg));
    }
    const queue = partitionQueue(this.o.prefix, partitionOf(laneKey(parsed.event), this.o.partitions));
    safely(() =>
      channel.sendToQueue(queue, msg.content, { persistent: true, contentType: 'application/json' }, (err) => {
        // Not confirmed: leave the input delivery unacked; it comes back when this channel closes.
        if (err) this.o.logger.warn({ err: String(err) }, 'partition publish not confirmed');
        else safely(() => channel.ack(msg));
      }),
    );
  }

  private work(channel: ConfirmChannel, msg: ConsumeMessage): void {
    const parsed = parseEvent(msg.content);
    if (!parsed.ok) {
      this.o.logger.warn({ error: parsed.error }, 'invalid event dropped');
      this.o.onHandled?.('invalid', 'invalid');
      return safely(() => channel.ack(msg));
    }
    const event = parsed.event;
    void this.lanes.run(laneKey(event), async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await this.o.mirrorer.handle(event);
          this.o.onHandled?.(event.kind, outcome);
          return safely(() => channel.ack(msg));
        } catch (err) {
          if (this.o.signal.aborted) return;
          this.o.onHandled?.(event.kind, 'retried');
          const delay = Math.min(250 * 2 ** Math.min(attempt, 5), 5_000);
          this.o.logger.warn({ err: (err as Error).message, event: event.kind, key: laneKey(event), attempt, delay }, 'mirroring failed; retrying in its lane');
          await sleep(delay, this.o.signal).catch(() => {});
          if (this.o.signal.aborted) return;
        }
      }
    });
  }

  /**
   * Stops taking deliveries and gives the lanes `graceMs` to finish; then `abort` ends their waits
   * and retries, and what is left unacked goes to the next node when the connection closes.
   */
  async stop(graceMs: number, abort: () => void): Promise<void> {
    const consumers = this.consumers;
    if (consumers) for (const tag of consumers.tags) await consumers.channel.cancel(tag).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.lanes.drain(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    abort();
    await this.lanes.drain();
    await this.connection.close();
  }
}

/** An ack or publish on a channel that closed meanwhile throws; the delivery is redelivered anyway. */
function safely(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // closed channel: nothing to do
  }
}
