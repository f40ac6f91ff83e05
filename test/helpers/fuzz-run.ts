// Runs one fuzz surface against a real process: a warm-up batch, then FUZZ_RUNS seeded inputs,
// each answered without a 5xx or a leak; reports the figures the README quotes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertNoLeak, FUZZ_SEED, fuzzParams, rssOf } from './fuzz';
import type { RawResponse } from './raw-http';

export interface FuzzFigures {
  inputs: number;
  ms: number;
  rssBefore: number;
  rssAfter: number;
  statuses: Record<number, number>;
}

export async function fuzzSurface<T>(options: {
  pid: number;
  input: fc.Arbitrary<T>;
  send: (input: T) => Promise<RawResponse>;
  secrets: string[];
  warmup?: number;
}): Promise<FuzzFigures> {
  const statuses: Record<number, number> = {};
  const check = async (input: T) => {
    const res = await options.send(input).catch((err: Error) => {
      throw new Error(`no answer (${err.message}) to ${fc.stringify(input).slice(0, 400)}`);
    });
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    assert.ok(res.status >= 200 && res.status < 500, `status ${res.status} for ${fc.stringify(input).slice(0, 300)}: ${res.body.slice(0, 300)}`);
    assertNoLeak(res.body, options.secrets);
    for (const value of Object.values(res.headers)) assertNoLeak(String(value), options.secrets);
  };
  for (const input of fc.sample(options.input, { seed: FUZZ_SEED + 1, numRuns: options.warmup ?? 50 })) await check(input);
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = rssOf(options.pid);
  let inputs = 0;
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(options.input, async (input) => {
      inputs++;
      await check(input);
    }),
    fuzzParams(),
  );
  const ms = Date.now() - started;
  const rssAfter = rssOf(options.pid);
  return { inputs, ms, rssBefore, rssAfter, statuses };
}

/**
 * RSS growth over the run within `maxGrowthMiB`: a smoke check that catches a large leak only.
 * Under CI load V8 grows a heap by 20 MiB and more before it collects (a 1.2x ratio went red on a
 * healthy proxy), so the bound is absolute and loose.
 */
export function assertRssWithin(figures: { rssBefore: number; rssAfter: number }, maxGrowthMiB = 48): void {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  assert.ok(figures.rssAfter - figures.rssBefore <= maxGrowthMiB * 2 ** 20, `RSS grew from ${mib(figures.rssBefore)} MiB to ${mib(figures.rssAfter)} MiB (more than ${maxGrowthMiB} MiB)`);
}

export function describeFigures(surface: string, f: FuzzFigures): string {
  return `fuzz ${surface}: ${f.inputs} inputs in ${(f.ms / 1000).toFixed(1)} s, RSS ${(f.rssBefore / 2 ** 20).toFixed(1)} -> ${(f.rssAfter / 2 ** 20).toFixed(1)} MiB, statuses ${JSON.stringify(f.statuses)}`;
}
