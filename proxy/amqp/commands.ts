// Commands for the shards from RabbitMQ's durable `gateway.send` queue (twilight-dispatch):
//   {"op": 0, "shard": N, "data": <gateway payload>}  send it on shard N
//   {"op": 1, "shard": N}                             reconnect shard N (it RESUMEs)
// Valid messages are acked after they are handled. Invalid ones (a payload a gateway client
// could not send either: internal/gateway/client-payloads.ts) never reach a shard: they go
// straight to `<queue>.dlq` with the problem in `x-splashtail-error`, and one log line names
// it. Numeric snowflakes are kept exact, as in client frames. A command that fails is retried after a growing delay:
// it waits in `<queue>.retry` (per-message TTL, dead-lettered back to `<queue>`) and after
// `maxAttempts` tries it goes to `<queue>.dlq` with its error. New queues, so existing
// deployments' `gateway.send` keeps its arguments (redeclaring it with others fails with 406).
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { AmqpConnection } from '../../internal/amqp';
import { parseClientFrame, sendProblem } from '../../internal/gateway/client-payloads';

const SENDABLE_OPS = [1, 3, 4, 8];

const commandSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal(0),
    shard: z.number().int().min(0),
    data: z.object({ op: z.number().int().refine((op) => SENDABLE_OPS.includes(op), { error: `data.op must be one of ${SENDABLE_OPS.join(', ')}` }), d: z.unknown() }),
  }),
  z.object({ op: z.literal(1), shard: z.number().int().min(0) }),
]);

export type ShardCommand = z.infer<typeof commandSchema>;

export interface CommandHandler {
  send(shard: number, payload: GatewaySendPayload): Promise<void>;
  reconnect(shard: number): Promise<void>;
  hasShard(shard: number): boolean;
  /** A shard of the deployment that another proxy node runs (or will, after a failover). */
  runElsewhere?(shard: number): boolean;
}

/** How long a command for another node's shard is held before it goes back to the queue. */
const REQUEUE_DELAY_MS = 100;

export function parseCommand(body: Buffer): { ok: true; command: ShardCommand } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = parseClientFrame(body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'body is not JSON' };
  }
  const result = commandSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, problem: `${issue.path.join('.') || 'op'}: ${issue.message}` };
  }
  const problem = result.data.op === 0 ? sendProblem(result.data.data.op, result.data.data.d) : undefined;
  if (problem) return { ok: false, problem: `data.d: ${problem}` };
  return { ok: true, command: result.data };
}

/** Header counting the tries a command has had. */
export const ATTEMPTS_HEADER = 'x-splashtail-attempts';

export interface CommandConsumerOptions {
  url: string;
  queue: string;
  handler: CommandHandler;
  logger: Logger;
  registry: Registry;
  /** Tries before a command goes to the dead-letter queue. */
  maxAttempts: number;
  /** Delay before the second try; it doubles with each further try. */
  retryDelayMs: number;
}

export class CommandConsumer {
  private readonly connection: AmqpConnection;
  private readonly outcomes: Counter<'outcome'>;

  constructor(private readonly options: CommandConsumerOptions) {
    this.outcomes = new Counter({
      name: 'proxy_amqp_commands_total', help: 'gateway.send commands by outcome (done, rejected, requeued, retried, dead_lettered)', labelNames: ['outcome'], registers: [options.registry],
    });
    this.connection = new AmqpConnection({ url: options.url, logger: options.logger, onChannel: (channel) => this.consume(channel) });
  }

  async start(): Promise<void> {
    void this.connection.start();
  }

  get retryQueue(): string {
    return `${this.options.queue}.retry`;
  }

  get deadLetterQueue(): string {
    return `${this.options.queue}.dlq`;
  }

  private async consume(channel: ConfirmChannel): Promise<void> {
    const { queue } = this.options;
    await channel.assertQueue(queue, { durable: true });
    await channel.assertQueue(this.retryQueue, { durable: true, deadLetterExchange: '', deadLetterRoutingKey: queue });
    await channel.assertQueue(this.deadLetterQueue, { durable: true });
    await channel.prefetch(50);
    await channel.consume(queue, (msg) => {
      if (msg) void this.handle(channel, msg);
    });
  }

  private async handle(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const parsed = parseCommand(msg.content);
    const { handler, logger } = this.options;
    if (parsed.ok && !handler.hasShard(parsed.command.shard) && handler.runElsewhere?.(parsed.command.shard)) {
      // Every node consumes the one queue: give the command back so that its shard's owner takes it.
      await new Promise((r) => setTimeout(r, REQUEUE_DELAY_MS));
      this.outcomes.inc({ outcome: 'requeued' });
      try {
        channel.nack(msg, false, true);
      } catch {
        // The channel is gone: the broker redelivers the unacked command anyway.
      }
      return;
    }
    if (!parsed.ok || !handler.hasShard(parsed.command.shard)) {
      const problem = parsed.ok ? `shard ${parsed.command.shard} is not run by this proxy` : parsed.problem;
      logger.warn({ queue: this.options.queue, problem, dlq: this.deadLetterQueue }, 'rejected a gateway.send message');
      this.outcomes.inc({ outcome: 'rejected' });
      const headers = { ...msg.properties.headers, 'x-splashtail-error': problem };
      await sendConfirmed(channel, this.deadLetterQueue, msg.content, { persistent: true, contentType: msg.properties.contentType, headers }).then(
        () => channel.ack(msg),
        // Not moved (the channel is gone): the broker redelivers it, and it is judged again.
        (err: Error) => logger.warn({ err: err.message }, 'could not move a rejected gateway.send message; it will be redelivered'),
      );
      return;
    }
    try {
      const { command } = parsed;
      if (command.op === 0) await handler.send(command.shard, command.data as GatewaySendPayload);
      else await handler.reconnect(command.shard);
      this.outcomes.inc({ outcome: 'done' });
      channel.ack(msg);
    } catch (err) {
      await this.retryOrDeadLetter(channel, msg, (err as Error).message).catch((e: Error) => {
        // Not moved (the channel is gone): the broker redelivers the unacked command.
        logger.warn({ err: e.message }, 'could not move a failed gateway.send command; it will be redelivered');
      });
    }
  }

  /** Moves a failed command to the retry queue (or the DLQ after the last try), then acks it. */
  private async retryOrDeadLetter(channel: ConfirmChannel, msg: ConsumeMessage, error: string): Promise<void> {
    const { maxAttempts, retryDelayMs, logger } = this.options;
    const previous = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0);
    const attempts = (Number.isInteger(previous) && previous > 0 ? previous : 0) + 1;
    const headers = { ...msg.properties.headers, [ATTEMPTS_HEADER]: attempts, 'x-splashtail-error': error };
    const base: Options.Publish = { persistent: true, contentType: msg.properties.contentType, headers };
    if (attempts >= maxAttempts) {
      await sendConfirmed(channel, this.deadLetterQueue, msg.content, base);
      channel.ack(msg);
      this.outcomes.inc({ outcome: 'dead_lettered' });
      logger.error({ attempts, err: error, dlq: this.deadLetterQueue }, 'a gateway.send command failed every try; moved to the dead-letter queue');
      return;
    }
    const delay = retryDelayMs * 2 ** (attempts - 1);
    await sendConfirmed(channel, this.retryQueue, msg.content, { ...base, expiration: String(delay) });
    channel.ack(msg);
    this.outcomes.inc({ outcome: 'retried' });
    logger.warn({ attempts, delay, err: error }, 'a gateway.send command failed; retrying later');
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/** Publishes to a queue and waits for the broker's confirm, so the original is acked only after. */
function sendConfirmed(channel: ConfirmChannel, queue: string, content: Buffer, options: Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.sendToQueue(queue, content, options, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
  });
}
