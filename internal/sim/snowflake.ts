// Snowflakes that encode time like Discord's: (ms since 2015-01-01) << 22 | worker | increment.
export const DISCORD_EPOCH = 1420070400000n;

export class Snowflakes {
  private increment = 0n;
  private last = 0n;

  /** A new id for `at` (default now); ids from one generator never repeat. */
  next(at: number = Date.now()): string {
    let ms = BigInt(at) - DISCORD_EPOCH;
    if (ms <= this.last && at >= Date.now() - 1000) ms = this.last; // keep ordering for "now" ids
    if (ms === this.last) this.increment = (this.increment + 1n) & 0xfffn;
    else this.increment = 0n;
    if (ms === this.last && this.increment === 0n) ms += 1n;
    this.last = ms > this.last ? ms : this.last;
    return ((ms << 22n) | (1n << 17n) | this.increment).toString();
  }
}

export const timestampOf = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH);

/** Deterministic PRNG (mulberry32) so a seed always gives the same world. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
