// `proxy.shards: auto`: this node takes the shards the coordinator assigns to it, each under an
// owner lease (`shard:<id>:owner` = "<epoch>:<node>", PX lease) with a fresh fencing epoch from
// INCR, renews them every tick, hands off the ones assigned elsewhere (drain, then release) and
// drops at once any whose lease it could not renew in time. Every tick also renews the node's
// heartbeat and runs the coordinator.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { type Drain, type OwnershipEvents, type ShardOwnership, shardKeys } from '../ownership';
import type { Coordinator } from './coordinator';
import type { ClusterKeys } from './keys';
import type { Membership } from './membership';

// Takes a free shard for ARGV[1] if the assignment gives it to ARGV[1]; returns the new epoch or 0.
const ACQUIRE = `
if redis.call('HGET', KEYS[3], ARGV[3]) ~= ARGV[1] then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur and string.match(cur, '^%d+:(.*)$') ~= ARGV[1] then return 0 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
return epoch`;

// Renews each lease still holding the value we gave it; 1/0 per key.
const RENEW = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1]) out[i] = 1 else out[i] = 0 end
end
return out`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface LeaseOwnershipOptions {
  redis: Redis;
  prefix: string;
  keys: ClusterKeys;
  membership: Membership;
  coordinator: Coordinator;
  leaseMs: number;
  shardCount: number;
  logger: Logger;
  /** Ownership changes by kind: acquired, handed_off, lost. */
  changes: Counter<'change'>;
}

export class LeaseOwnership extends EventEmitter<OwnershipEvents> implements ShardOwnership {
  readonly owned = new Map<number, number>();
  /** Local deadline of each owned shard's lease: past it the node acts no more for the shard. */
  private readonly validUntil = new Map<number, number>();
  private readonly handingOff = new Set<number>();
  private drain: Drain = async () => {};
  private timer: NodeJS.Timeout | undefined;
  /** Drops lapsed shards even while a tick hangs on an unreachable Redis. */
  private watchdog: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopping = false;

  constructor(private readonly o: LeaseOwnershipOptions) {
    super();
  }

  /** Ticks often enough that a lease is renewed several times before it could lapse. */
  get tickMs(): number {
    return Math.min(1_000, this.o.leaseMs / 5);
  }

  async start(): Promise<void> {
    await this.o.membership.beat();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.watchdog = setInterval(() => this.dropLapsed(), Math.min(250, this.tickMs));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.watchdog);
    // Leave first so the coordinator (here or elsewhere) reassigns these shards at once; their
    // new owners take them as each lease is released below.
    await this.o.membership.leave().catch(() => {});
    await this.o.coordinator.resign().catch(() => {});
    await Promise.all([...this.owned.keys()].map((shard) => this.handOff(shard)));
  }

  holds(shard: number): boolean {
    return this.owned.has(shard) && Date.now() < (this.validUntil.get(shard) ?? 0);
  }

  lose(shard: number): void {
    if (!this.owned.delete(shard)) return;
    this.validUntil.delete(shard);
    this.o.changes.inc({ change: 'lost' });
    this.o.logger.warn({ shard }, 'lost the shard (lease expired or epoch moved on); dropping it without writing');
    this.emit('released', shard);
  }

  drainWith(drain: Drain): void {
    this.drain = drain;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      await this.o.membership.beat();
      await this.renew();
      await this.o.coordinator.tick();
      await this.follow();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'cluster tick failed; leases lapse if this goes on');
    } finally {
      this.ticking = false;
      this.dropLapsed();
    }
  }

  /**
   * Fencing by this node's clock: a shard whose lease could not be renewed in time is dropped
   * (its upstream closed resumably, nothing more appended or written), also while Redis hangs;
   * once Redis answers again the coordinator's assignment gives it back and it is RESUMEd.
   */
  private dropLapsed(): void {
    for (const shard of [...this.owned.keys()]) if (!this.holds(shard)) this.lose(shard);
  }

  private ownerValue(shard: number): string {
    return `${this.owned.get(shard)}:${this.o.membership.name}`;
  }

  private async renew(): Promise<void> {
    const shards = [...this.owned.keys()];
    if (shards.length === 0) return;
    const started = Date.now();
    const keys = shards.map((s) => shardKeys(this.o.prefix, s).owner);
    const renewed = (await this.o.redis.eval(RENEW, keys.length, ...keys, this.o.leaseMs, ...shards.map((s) => this.ownerValue(s)))) as number[];
    shards.forEach((shard, i) => {
      if (renewed[i] === 1) this.validUntil.set(shard, this.deadline(started));
      else this.lose(shard);
    });
  }

  /** Takes the shards assigned here, hands off the ones assigned elsewhere. */
  private async follow(): Promise<void> {
    const assignment = await this.o.redis.hgetall(this.o.keys.assignment);
    const me = this.o.membership.name;
    const taking: Promise<void>[] = [];
    for (let shard = 0; shard < this.o.shardCount; shard++) {
      if (this.handingOff.has(shard)) continue;
      const mine = assignment[String(shard)] === me;
      if (mine && !this.owned.has(shard)) taking.push(this.acquire(shard));
      else if (!mine && this.owned.has(shard)) void this.handOff(shard);
    }
    await Promise.all(taking);
  }

  private async acquire(shard: number): Promise<void> {
    const started = Date.now();
    const k = shardKeys(this.o.prefix, shard);
    const epoch = Number(await this.o.redis.eval(ACQUIRE, 3, k.owner, k.epoch, this.o.keys.assignment, this.o.membership.name, this.o.leaseMs, shard));
    if (!epoch || this.stopping) return;
    this.owned.set(shard, epoch);
    this.validUntil.set(shard, this.deadline(started));
    this.o.changes.inc({ change: 'acquired' });
    this.o.logger.info({ shard, epoch }, 'acquired shard');
    this.emit('acquired', shard, epoch);
  }

  /** A planned move: the shard is drained (reading stops, seq persisted), then its lease released. */
  private async handOff(shard: number): Promise<void> {
    if (this.handingOff.has(shard) || !this.owned.has(shard)) return;
    this.handingOff.add(shard);
    try {
      await this.drain(shard).catch((err: Error) => this.o.logger.warn({ shard, err: err.message }, 'draining a shard failed'));
      const value = this.ownerValue(shard);
      if (!this.owned.delete(shard)) return;
      this.validUntil.delete(shard);
      this.emit('released', shard);
      await this.o.redis.eval(RELEASE, 1, shardKeys(this.o.prefix, shard).owner, value).catch(() => {});
      this.o.changes.inc({ change: 'handed_off' });
      this.o.logger.info({ shard }, 'handed the shard off');
    } finally {
      this.handingOff.delete(shard);
    }
  }

  /** The lease runs from before the command was sent; 10% is kept back for clock rate and delays. */
  private deadline(sentAt: number): number {
    return sentAt + this.o.leaseMs * 0.9;
  }
}

/** Each shard's current owner by its lease, read by any node (for /shards and /nodes). */
export async function readOwners(redis: Redis, prefix: string, shardCount: number): Promise<Map<number, { node: string; epoch: number }>> {
  const owners = new Map<number, { node: string; epoch: number }>();
  if (shardCount === 0) return owners;
  const values = await redis.mget(...Array.from({ length: shardCount }, (_, s) => shardKeys(prefix, s).owner));
  values.forEach((value, shard) => {
    const match = value ? /^(\d+):(.+)$/.exec(value) : null;
    if (match) owners.set(shard, { epoch: Number(match[1]), node: match[2]! });
  });
  return owners;
}
