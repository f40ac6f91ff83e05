// Commands for the shards from RabbitMQ's durable `gateway.send` queue (twilight-dispatch):
//   {"op": 0, "shard": N, "data": <gateway payload>}  send it on shard N
//   {"op": 1, "shard": N}                             reconnect shard N (it RESUMEs)
// Valid messages are acked after they are handled; invalid ones are rejected without requeue,
// with one log line naming the problem.
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AmqpConnection } from '../../internal/amqp';

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
}

export function parseCommand(body: Buffer): { ok: true; command: ShardCommand } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'body is not JSON' };
  }
  const result = commandSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, problem: `${issue.path.join('.') || 'op'}: ${issue.message}` };
  }
  return { ok: true, command: result.data };
}

export class CommandConsumer {
  private readonly connection: AmqpConnection;

  constructor(
    private readonly options: { url: string; queue: string; handler: CommandHandler; logger: Logger },
  ) {
    this.connection = new AmqpConnection({ url: options.url, logger: options.logger, onChannel: (channel) => this.consume(channel) });
  }

  async start(): Promise<void> {
    void this.connection.start();
  }

  private async consume(channel: ConfirmChannel): Promise<void> {
    await channel.assertQueue(this.options.queue, { durable: true });
    await channel.prefetch(50);
    await channel.consume(this.options.queue, (msg) => {
      if (msg) void this.handle(channel, msg);
    });
  }

  private async handle(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const parsed = parseCommand(msg.content);
    const { handler, logger } = this.options;
    if (!parsed.ok || !handler.hasShard(parsed.command.shard)) {
      const problem = parsed.ok ? `shard ${parsed.command.shard} is not run by this proxy` : parsed.problem;
      logger.warn({ queue: this.options.queue, problem }, 'rejected a gateway.send message');
      channel.nack(msg, false, false);
      return;
    }
    try {
      const { command } = parsed;
      if (command.op === 0) await handler.send(command.shard, command.data as GatewaySendPayload);
      else await handler.reconnect(command.shard);
      channel.ack(msg);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'a gateway.send command failed; requeued');
      channel.nack(msg, false, true);
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
