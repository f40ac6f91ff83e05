// Which shards this proxy node owns, each with its fencing epoch. The epoch of a shard lives in
// Redis (`shardKeys(prefix, id).epoch`, raised by INCR whenever a node takes the shard); every
// write on behalf of a shard (its session, its log) is a Lua compare-and-set on it, so a node
// that lost a shard can no longer write for it.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

export function shardKeys(prefix: string, shard: number) {
  return { epoch: `${prefix}shard:${shard}:epoch`, owner: `${prefix}shard:${shard}:owner` };
}

export interface OwnershipEvents {
  /** This node now owns `shard` under `epoch`: connect it (RESUME from what is persisted). */
  acquired: [shard: number, epoch: number];
  /** This node no longer owns `shard`: stop reading it and write nothing more for it. */
  released: [shard: number];
}

/** Called before a planned release (hand-off, shutdown): stop reading the shard and persist its seq. */
export type Drain = (shard: number) => Promise<void>;

export interface ShardOwnership extends EventEmitter<OwnershipEvents> {
  /** Owned shards -> their epochs. */
  readonly owned: ReadonlyMap<number, number>;
  start(): Promise<void>;
  /** Hands every owned shard off (drain, then release) and stops taking shards. */
  stop(): Promise<void>;
  /** Owned and, by this node's clock, still under lease: only then may the node act for it. */
  holds(shard: number): boolean;
  /** A write for the shard was refused (its epoch moved on): the shard is gone, write nothing more. */
  lose(shard: number): void;
  /** The drain run before each planned release. */
  drainWith(drain: Drain): void;
}

/** A fixed shard set (`proxy.shards: all | [a, b]`): takes each shard once at start. */
export class StaticOwnership extends EventEmitter<OwnershipEvents> implements ShardOwnership {
  readonly owned = new Map<number, number>();
  private drain: Drain = async () => {};

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly shardIds: number[],
  ) {
    super();
  }

  async start(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const shard of this.shardIds) pipeline.incr(shardKeys(this.prefix, shard).epoch);
    const results = (await pipeline.exec()) ?? [];
    this.shardIds.forEach((shard, i) => {
      const [err, epoch] = results[i] ?? [new Error('no reply')];
      if (err) throw err;
      this.owned.set(shard, Number(epoch));
      this.emit('acquired', shard, Number(epoch));
    });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.owned.keys()].map(async (shard) => {
      await this.drain(shard);
      this.lose(shard);
    }));
  }

  holds(shard: number): boolean {
    return this.owned.has(shard);
  }

  lose(shard: number): void {
    if (!this.owned.delete(shard)) return;
    this.emit('released', shard);
  }

  drainWith(drain: Drain): void {
    this.drain = drain;
  }
}
