// The per-shard log: every dispatch of a shard this node owns, appended to a capped Redis
// stream `<prefix>log:<shard>` that any node can read from an offset. Downstream sessions are
// positions in it (downstream-store.ts), so a bot RESUMEs after a proxy restart or on another
// node. Entries carry the upstream `s` and session id, so a reader sees any gap (`continues`).
//
// Entry ids are `<epoch>-<n>`: chosen here, so the event path knows an event's position at
// once and never waits for Redis; the epoch (INCR per take-over) keeps them increasing across
// owners. Appends are batched per shard (one Lua call per batch, one batch in flight) and the
// script refuses the batch when `shard:<id>:epoch` is no longer ours: the shard is then fenced.
//
// Redis slow or down: entries wait in memory, at most `maxEvents` per shard; past that the
// oldest unwritten ones are dropped (counted in proxy_shard_log_dropped_total). Bots connected
// here still get them (their path is in memory); only a reader of the log across the hole (a
// RESUME after a restart or on another node) is told to IDENTIFY again (op 9). A kill -9 loses
// the unwritten tail (a few ms), which the next owner's upstream RESUME replays from Discord.
import { EventEmitter } from 'node:events';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { shardKeys } from './ownership';

export interface LogEntry {
  id: string;
  /** Upstream sequence number and session id. */
  s: number;
  sid: string;
  t: string;
  /** The dispatch's `d`, as JSON. */
  d: string;
}

export type LogPosition = Pick<LogEntry, 'id' | 'sid' | 's'>;

/** Entries per Lua call. */
const BATCH = 500;
/** How long appended entries may wait to be batched. */
const FLUSH_MS = 5;

// KEYS: epoch key, stream. ARGV: epoch, cap, then (id, s, sid, t, d) per entry. A missing epoch
// (Redis restarted without its data) is restored, as the session store does. Entries at or
// below the stream's last id were written by an earlier try of the same batch and are skipped.
const APPEND = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then redis.call('SET', KEYS[1], ARGV[1]) elseif epoch ~= ARGV[1] then return -1 end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local lms, lseq = -1, -1
if last then
  local a, b = string.match(last[1], '(%d+)-(%d+)')
  lms, lseq = tonumber(a), tonumber(b)
end
local n = 0
for i = 3, #ARGV, 5 do
  local a, b = string.match(ARGV[i], '(%d+)-(%d+)')
  local ms, seq = tonumber(a), tonumber(b)
  if ms > lms or (ms == lms and seq > lseq) then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], ARGV[i], 's', ARGV[i + 1], 'sid', ARGV[i + 2], 't', ARGV[i + 3], 'd', ARGV[i + 4])
    n = n + 1
  end
end
return n
`;

interface Appender {
  epoch: number;
  counter: number;
  /** The last entry appended (in memory), for replay detection and `head`. */
  last: LogPosition | undefined;
  /** Not yet sent, and sent but not confirmed: both still readable from memory. */
  pending: LogEntry[];
  inflight: LogEntry[];
  flushing: boolean;
}

export interface ShardLogEvents {
  /** An append was refused: another node took the shard (treat like a lost lease). */
  fenced: [shard: number];
}

export class ShardLog extends EventEmitter<ShardLogEvents> {
  private readonly appenders = new Map<number, Appender>();
  private timer: NodeJS.Timeout | undefined;
  private readonly dropped: Counter;
  private readonly fencedTotal: Counter;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Cap of each shard's stream, and of the entries one shard may keep waiting for Redis. */
    readonly maxEvents: number,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    super();
    redis.defineCommand('shardLogAppend', { numberOfKeys: 2, lua: APPEND });
    this.dropped = new Counter({ name: 'proxy_shard_log_dropped_total', help: 'Dispatches never written to the shard log because Redis was late (bots here still got them)', labelNames: ['shard'], registers: [registry] });
    this.fencedTotal = new Counter({ name: 'proxy_shard_log_fenced_total', help: 'Shard log appends refused because another node holds the shard', labelNames: ['shard'], registers: [registry] });
  }

  key(shard: number): string {
    return `${this.prefix}log:${shard}`;
  }

  /** Starts appending `shard` under `epoch`, after the entries already in its log. */
  async acquire(shard: number, epoch: number): Promise<void> {
    const last = await this.last(shard);
    const [ms, n] = last ? parseId(last.id) : [0, 0];
    this.appenders.set(shard, { epoch, counter: ms === epoch ? n : 0, last, pending: [], inflight: [], flushing: false });
  }

  /** Stops appending `shard`; what is unwritten is dropped (the next owner's RESUME replays it). */
  release(shard: number): void {
    this.appenders.delete(shard);
  }

  owns(shard: number): boolean {
    return this.appenders.has(shard);
  }

  /** The last entry appended here (written or not), for an owned shard. */
  head(shard: number): LogPosition | undefined {
    return this.appenders.get(shard)?.last;
  }

  /**
   * Appends one dispatch of an owned shard. 'replay' when the log already holds it (an upstream
   * RESUME replayed what an earlier owner had logged): the caller must not pass it on.
   */
  append(shard: number, payload: GatewayDispatchPayload, sessionId: string): LogEntry | 'replay' | undefined {
    const a = this.appenders.get(shard);
    if (!a) return undefined;
    const sid = payload.t === 'READY' ? payload.d.session_id : sessionId;
    if (a.last && a.last.sid === sid && payload.s <= a.last.s) return 'replay';
    const entry: LogEntry = { id: `${a.epoch}-${++a.counter}`, s: payload.s, sid, t: payload.t, d: JSON.stringify(payload.d) };
    a.last = entry;
    a.pending.push(entry);
    if (a.pending.length + a.inflight.length > this.maxEvents) {
      a.pending.shift();
      this.dropped.inc({ shard: String(shard) });
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const [id, appender] of this.appenders) void this.flushShard(id, appender);
    }, FLUSH_MS);
    return entry;
  }

  /** The last entry of the shard's log in Redis (what a new owner RESUMEs from). */
  async lastSeq(shard: number): Promise<{ sessionId: string; seq: number } | null> {
    const last = await this.last(shard);
    return last ? { sessionId: last.sid, seq: last.s } : null;
  }

  async last(shard: number): Promise<LogEntry | undefined> {
    return (await this.readRange(shard, '+', '-', 1, true))[0];
  }

  /**
   * Up to `count` entries after `after` (exclusive), from Redis then, for an owned shard, from
   * what is still waiting to be written: together, everything appended so far.
   */
  async read(shard: number, after: string, count: number): Promise<LogEntry[]> {
    const entries = await this.readRange(shard, `(${after}`, '+', count, false);
    const a = this.appenders.get(shard);
    if (!a || entries.length === count) return entries;
    const from = entries.at(-1)?.id ?? after;
    for (const e of [...a.inflight, ...a.pending]) if (compareIds(e.id, from) > 0 && entries.length < count) entries.push(e);
    return entries;
  }

  /** The entry at `id` itself, if the log still holds it. */
  async at(shard: number, id: string): Promise<LogEntry | undefined> {
    const a = this.appenders.get(shard);
    const local = a && [...a.inflight, ...a.pending].find((e) => e.id === id);
    return local ?? (await this.readRange(shard, id, id, 1, false))[0];
  }

  /** Writes what is waiting, for every shard (shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [shard, a] of this.appenders) while (a.pending.length && (await this.flushShard(shard, a)));
  }

  /** One batch of one shard; false when nothing could be written. */
  private async flushShard(shard: number, a: Appender): Promise<boolean> {
    if (a.flushing || a.pending.length === 0) return false;
    a.flushing = true;
    a.inflight = a.pending.splice(0, BATCH);
    const args: (string | number)[] = [a.epoch, this.maxEvents];
    for (const e of a.inflight) args.push(e.id, e.s, e.sid, e.t, e.d);
    let ok = false;
    try {
      const result = await (this.redis as unknown as { shardLogAppend(k1: string, k2: string, ...args: (string | number)[]): Promise<number> }).shardLogAppend(shardKeys(this.prefix, shard).epoch, this.key(shard), ...args);
      if (result === -1) {
        this.fencedTotal.inc({ shard: String(shard) });
        this.logger.warn({ shard, epoch: a.epoch }, 'shard log append refused: another node holds the shard');
        if (this.appenders.get(shard) === a) this.appenders.delete(shard);
        this.emit('fenced', shard);
        return false;
      }
      ok = true;
    } catch (err) {
      // Retried next tick; the script skips what an earlier try wrote.
      a.pending.unshift(...a.inflight);
      this.logger.warn({ err: (err as Error).message, shard, entries: a.inflight.length }, 'writing the shard log failed; retrying');
    } finally {
      a.inflight = [];
      a.flushing = false;
    }
    if (a.pending.length && this.appenders.get(shard) === a) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        for (const [id, appender] of this.appenders) void this.flushShard(id, appender);
      }, ok ? 0 : 250);
    }
    return ok;
  }

  private async readRange(shard: number, from: string, to: string, count: number, reverse: boolean): Promise<LogEntry[]> {
    const rows = reverse ? await this.redis.xrevrange(this.key(shard), from, to, 'COUNT', count) : await this.redis.xrange(this.key(shard), from, to, 'COUNT', count);
    return rows.map(([id, fields]) => toEntry(id, fields)).filter((e): e is LogEntry => e !== undefined);
  }
}

/** Whether `next` directly follows `prev` in the upstream's stream (no dispatch lost between). */
export function continues(prev: Pick<LogEntry, 'sid' | 's'>, next: Pick<LogEntry, 'sid' | 's' | 't'>): boolean {
  return next.sid === prev.sid ? next.s === prev.s + 1 : next.t === 'READY';
}

export function compareIds(a: string, b: string): number {
  const [am, an] = parseId(a);
  const [bm, bn] = parseId(b);
  return am - bm || an - bn;
}

function parseId(id: string): [number, number] {
  const [ms, n] = id.split('-');
  return [Number(ms), Number(n ?? 0)];
}

/** A stream entry as written by APPEND; anything else (a foreign writer) is skipped. */
export function toEntry(id: string, fields: string[]): LogEntry | undefined {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const s = Number(f.s);
  if (!Number.isInteger(s) || f.sid === undefined || f.t === undefined || f.d === undefined) return undefined;
  return { id, s, sid: f.sid, t: f.t, d: f.d };
}
