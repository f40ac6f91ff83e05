// V8's memory-saving mode (--optimize-for-size) while the guild state fills. A READY's burst of
// GUILD_CREATEs (or the state read back from Redis) otherwise leaves the heap at 2-3x its live
// size for minutes: 10,000 realistic guilds, 772 MiB RSS 10 s after the burst and 320 MiB two
// minutes later, against 284 MiB at once in this mode. The mode also costs about a quarter of the
// event throughput, so it ends once every shard is Ready and no guild is still to come.
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

const CHECK_MS = 2_000;
/** Guilds that stay unavailable (a Discord outage) must not keep the mode on for good. */
const MAX_MS = 600_000;

export class MemoryMode {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Whether the burst is over: every shard Ready, no guild awaited. */
    private readonly settled: () => boolean,
    private readonly logger: Logger,
    private readonly gauge: Gauge,
  ) {}

  /** A burst is coming (a shard READY, or its state loaded): save memory until it has settled. */
  save(): void {
    if (!this.timer) {
      setFlagsFromString('--optimize-for-size');
      this.gauge.set(1);
      this.logger.debug('memory-saving mode on');
    }
    clearInterval(this.timer);
    const since = Date.now();
    this.timer = setInterval(() => {
      if (this.settled() || Date.now() - since > MAX_MS) this.stop();
    }, CHECK_MS).unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    setFlagsFromString('--no-optimize-for-size');
    this.gauge.set(0);
    this.logger.debug('memory-saving mode off');
  }
}
