// Node membership: each node renews a heartbeat lease (`node:<name>`, PX lease) every tick; a
// node whose key expired is dead. The `nodes` hash (name -> last heartbeat) remembers names, so
// the live ones are listed without scanning Redis and a dead one's last heartbeat is known.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys';

export interface NodeInfo {
  name: string;
  url: string;
  /** Epoch milliseconds of the node's last heartbeat. */
  lastSeen: number;
}

export class Membership {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    readonly name: string,
    private readonly url: string,
    private readonly leaseMs: number,
  ) {}

  async beat(): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.node(this.name), JSON.stringify({ url: this.url, last_seen: Date.now() }), 'PX', this.leaseMs)
      .hset(this.keys.nodes, this.name, String(Date.now()))
      .exec();
  }

  /** Live nodes (sorted by name) and dead ones not forgotten yet, with their last heartbeat. */
  async members(): Promise<{ live: NodeInfo[]; dead: { name: string; lastSeen: number }[] }> {
    const seen = await this.redis.hgetall(this.keys.nodes);
    const names = Object.keys(seen).sort();
    if (names.length === 0) return { live: [], dead: [] };
    const values = await this.redis.mget(...names.map((n) => this.keys.node(n)));
    const live: NodeInfo[] = [];
    const dead: { name: string; lastSeen: number }[] = [];
    names.forEach((name, i) => {
      const parsed = parseNode(values[i] ?? null);
      if (parsed) live.push({ name, ...parsed });
      else dead.push({ name, lastSeen: Number(seen[name]) });
    });
    return { live, dead };
  }

  async live(): Promise<NodeInfo[]> {
    return (await this.members()).live;
  }

  /** Forgets dead nodes (the coordinator does it once their shards are reassigned). */
  async forget(names: string[]): Promise<void> {
    if (names.length) await this.redis.hdel(this.keys.nodes, ...names);
  }

  /** A node leaving on purpose: the coordinator stops counting it at its next tick. */
  async leave(): Promise<void> {
    await this.redis.multi().del(this.keys.node(this.name)).hdel(this.keys.nodes, this.name).exec();
  }
}

/** A heartbeat value from Redis; anything unreadable counts as no heartbeat. */
function parseNode(value: string | null): { url: string; lastSeen: number } | undefined {
  if (value === null) return undefined;
  try {
    const v = JSON.parse(value) as { url?: unknown; last_seen?: unknown };
    return typeof v.url === 'string' && typeof v.last_seen === 'number' ? { url: v.url, lastSeen: v.last_seen } : undefined;
  } catch {
    return undefined;
  }
}
