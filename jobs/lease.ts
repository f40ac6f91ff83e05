// A task's lease as its jobserver sees it, on the monotonic clock (which keeps counting while the
// process is paused). Postgres holds the lease of record; this local copy answers "may I still act?"
// before each Discord mutation, since Postgres cannot stop a call already on its way to Discord.
import { performance } from 'node:perf_hooks';

/** Thrown where a task must stop because its lease is gone; the runner logs it and does not finish the task. */
export class StopTask extends Error {
  override name = 'StopTask';
}

export class LeaseLost extends StopTask {
  override name = 'LeaseLost';
}

export class LocalLease {
  private validUntil: number;
  private lostReason: string | undefined;

  /**
   * @param claimedAt performance.now() when the claim was sent: Postgres started the lease after it.
   * @param marginMs how long before the lease's end we stop acting, for clock drift and a slow renewal.
   */
  constructor(
    private readonly leaseMs: number,
    private readonly marginMs: number,
    claimedAt: number,
  ) {
    this.validUntil = claimedAt + leaseMs - marginMs;
  }

  /** A renewal sent at `sentAt` (performance.now()) succeeded. */
  renewed(sentAt: number): void {
    if (this.lostReason === undefined) this.validUntil = Math.max(this.validUntil, sentAt + this.leaseMs - this.marginMs);
  }

  /** Marks the lease gone for good; returns false when it was already. */
  lose(reason: string): boolean {
    if (this.lostReason !== undefined) return false;
    this.lostReason = reason;
    return true;
  }

  /** Why the lease is gone, or undefined while it holds. An unrenewed lease is gone once its time (less the margin) is up. */
  check(now = performance.now()): string | undefined {
    if (this.lostReason === undefined && now >= this.validUntil) this.lostReason = 'the lease ran out before it could be renewed';
    return this.lostReason;
  }

  assertHeld(): void {
    const reason = this.check();
    if (reason !== undefined) throw new LeaseLost(`lost the lease: ${reason}`);
  }
}
