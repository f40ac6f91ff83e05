// The bot's daily IDENTIFY budget (session_start_limit: 1000 a day for most bots). Discord counts
// it across every shard and node; spending it all gets the bot's sessions ended and its token
// reset, so no node IDENTIFYs past it: before each IDENTIFY the budget is asked of Discord
// (GET /gateway/bot), or taken from this node's own recent answer, and a spent one waits for its
// reset. RESUMEs do not count.
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

/** An answer younger than this is trusted (minus this node's own IDENTIFYs since). */
const FRESH_MS = 10_000;
/** How long a spent budget waits before asking again (at most; less when the reset is sooner). */
const RECHECK_MS = 60_000;

export class SessionBudget {
  private known: { remaining: number; at: number } | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly fetchLimit: () => Promise<APIGatewaySessionStartLimit>,
    private readonly logger: Logger,
    private readonly remainingGauge: Gauge,
  ) {}

  /** Resolves once one IDENTIFY fits in the budget (and counts it); rejects when aborted. */
  take(signal: AbortSignal): Promise<void> {
    // One at a time on a node, so two shards never both spend the last start.
    const turn = this.queue.then(() => this.takeOne(signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async takeOne(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const known = this.known;
      if (known && Date.now() - known.at < FRESH_MS && known.remaining > 0) {
        known.remaining--;
        return;
      }
      let limit: APIGatewaySessionStartLimit;
      try {
        limit = await this.fetchLimit();
      } catch (err) {
        // Discord unreachable: the IDENTIFY itself will fail or succeed; the budget is asked again next time.
        this.logger.warn({ err: (err as Error).message }, 'session start limit unknown (GET /gateway/bot failed); identifying anyway');
        this.known = undefined;
        return;
      }
      this.remainingGauge.set(limit.remaining);
      this.known = { remaining: limit.remaining, at: Date.now() };
      if (limit.remaining > 0) {
        this.known.remaining--;
        return;
      }
      this.logger.error({ total: limit.total, reset_after_ms: limit.reset_after }, 'the daily session start limit is spent: no IDENTIFY until it resets');
      await sleep(Math.min(RECHECK_MS, Math.max(1_000, limit.reset_after)), signal);
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
