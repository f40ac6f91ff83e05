// The bot's identify limit across every node: one Redis key per bucket (shard % max_concurrency)
// taken with SET NX PX for one identify interval. Whoever sets it may IDENTIFY; the others wait
// for the key to expire. A small margin keeps two nodes' IDENTIFYs apart even when one of them
// reaches Discord a little late. The daily budget is checked once the slot is taken
// (session-budget.ts), right before the IDENTIFY goes out.
import type { Redis } from 'ioredis';
import type { Gauge } from 'prom-client';
import type { ClusterKeys } from './keys';
import type { SessionBudget } from './session-budget';

const MARGIN_MS = 250;
const MIN_POLL_MS = 20;

export class IdentifyQueue {
  private waiting = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly node: string,
    readonly maxConcurrency: number,
    readonly intervalMs: number,
    private readonly depth: Gauge,
    private readonly budget?: SessionBudget,
  ) {}

  /** Resolves once `shardId` may IDENTIFY (its bucket's slot and a start of the daily budget are taken for it); rejects when aborted. */
  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = this.keys.identify(shardId % this.maxConcurrency);
    this.depth.set(++this.waiting);
    try {
      for (;;) {
        signal.throwIfAborted();
        if ((await this.redis.set(key, `${this.node} ${shardId}`, 'PX', this.intervalMs + MARGIN_MS, 'NX')) !== 'OK') {
          const ttl = await this.redis.pttl(key);
          await sleep(Math.max(MIN_POLL_MS, ttl) + Math.random() * MIN_POLL_MS, signal);
          continue;
        }
        const verdict = (await this.budget?.tryTake()) ?? { granted: true };
        if (verdict.granted) return;
        await sleep(verdict.retryInMs, signal);
      }
    } finally {
      this.depth.set(--this.waiting);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(signal.reason as Error));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
