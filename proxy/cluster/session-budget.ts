// The bot's daily IDENTIFY budget (session_start_limit: 1000 a day for most bots). Discord counts
// it across every shard and node; spending it all gets the bot's sessions ended and its token
// reset, so no node IDENTIFYs past it: before each IDENTIFY the budget is asked of Discord
// (GET /gateway/bot), or taken from this node's own recent answer, and a spent one waits for its
// reset. RESUMEs do not count.
//
// Discord's answer lags this node's own starts: one granted here may still wait for its bucket,
// or be on the wire. Those are subtracted from every answer (a start counts as in flight for
// IN_FLIGHT_MS after its IDENTIFY is sent), so two shards never both take the last start.
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

/** An answer younger than this is trusted (minus this node's own IDENTIFYs since). */
const FRESH_MS = 10_000;
/** How long after its IDENTIFY went out a start may still be missing from Discord's answer. */
const IN_FLIGHT_MS = 10_000;
/** How long a spent budget waits before asking again (at most; less when the reset is sooner). */
const RECHECK_MS = 60_000;

/** One granted start: `sent` when its IDENTIFY goes out, `cancel` when it never will. */
export interface SessionStart {
  sent(): void;
  cancel(): void;
}

export class SessionBudget {
  private known: { remaining: number; at: number } | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Starts granted whose IDENTIFY has not gone out yet. */
  private granted = 0;
  /** When this node's recent IDENTIFYs went out, oldest first. */
  private readonly sentAt: number[] = [];

  constructor(
    private readonly fetchLimit: () => Promise<APIGatewaySessionStartLimit>,
    private readonly logger: Logger,
    private readonly remainingGauge: Gauge,
  ) {}

  /** Resolves once one IDENTIFY fits in the budget (and counts it); rejects when aborted. */
  take(signal: AbortSignal): Promise<SessionStart> {
    // One at a time on a node, so two shards never both spend the last start.
    const turn = this.queue.then(() => this.takeOne(signal));
    this.queue = turn.then(
      () => {},
      () => {},
    );
    return turn.then(() => this.grant());
  }

  private grant(): SessionStart {
    this.granted++;
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      this.granted--;
      return true;
    };
    return {
      sent: () => {
        if (close()) this.sentAt.push(Date.now());
      },
      cancel: () => {
        if (close() && this.known) this.known.remaining++;
      },
    };
  }

  /** This node's starts that Discord's answer may not count yet. */
  private inFlight(now: number): number {
    while (this.sentAt.length > 0 && this.sentAt[0]! <= now - IN_FLIGHT_MS) this.sentAt.shift();
    return this.granted + this.sentAt.length;
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
      const now = Date.now();
      const remaining = limit.remaining - this.inFlight(now);
      this.remainingGauge.set(Math.max(0, remaining));
      this.known = { remaining, at: now };
      if (remaining > 0) {
        this.known.remaining--;
        return;
      }
      if (limit.remaining > 0) {
        // What is left may be this node's own starts, not yet counted: ask again once they are.
        await sleep(Math.max(100, (this.sentAt[0] ?? now) + IN_FLIGHT_MS - now), signal);
        continue;
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
