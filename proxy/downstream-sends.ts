// Sends (presence, voice state, member requests) of bot sessions on a node that does not own
// their shard go to the owner through Redis pub/sub (`<prefix>sends:<shard>`), which passes
// them upstream. Answers come back through the shard log: member chunks and RATE_LIMITED carry
// the asking node's nonce, and that node's feed routes them to the session that asked.
import { GatewayOpcodes, type GatewaySendPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** The ops a bot session may have forwarded (the asking node checked their shapes). */
const FORWARDED = new Set<number>([GatewayOpcodes.PresenceUpdate, GatewayOpcodes.VoiceStateUpdate, GatewayOpcodes.RequestGuildMembers]);

export class SendRelay {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly owns: (shard: number) => boolean,
    private readonly send: (shard: number, payload: GatewaySendPayload) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const shard = Number(channel.slice(`${this.prefix}sends:`.length));
      if (!Number.isInteger(shard) || !this.owns(shard)) return;
      const payload = parse(message);
      if (!payload) return this.logger.warn({ shard }, 'ignoring a malformed forwarded send');
      this.send(shard, payload).catch((err: Error) => this.logger.warn({ err: err.message, shard }, 'forwarding a send upstream failed'));
    });
    await this.subscriber.psubscribe(`${this.prefix}sends:*`);
  }

  /** Hands a send for `shard` to its owner (published; lost if no owner listens right now, as a send on a dropped connection). */
  async publish(shard: number, payload: GatewaySendPayload): Promise<void> {
    await this.redis.publish(`${this.prefix}sends:${shard}`, JSON.stringify(payload));
  }

  close(): void {
    this.subscriber?.disconnect();
  }
}

function parse(message: string): GatewaySendPayload | undefined {
  try {
    const value = JSON.parse(message) as { op?: unknown; d?: unknown };
    if (typeof value.op !== 'number' || !FORWARDED.has(value.op) || typeof value.d !== 'object' || value.d === null) return undefined;
    return value as GatewaySendPayload;
  } catch {
    return undefined;
  }
}
