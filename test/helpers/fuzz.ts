// Shared pieces of the fuzz suites: seeded runs (a failure prints its seed and path, and
// FUZZ_SEED replays it), hostile values, and the checks every surface must pass.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/** Inputs per surface: 200 in `make test`, more with FUZZ_RUNS (`make fuzz`). */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261123);

export function fuzzParams<T>(): fc.Parameters<T> {
  return { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: true };
}

/** Strings that broke services before: prototype keys, bad escapes, NUL, lone surrogates, huge numbers. */
export const hostileString = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '%', '%E0%A4%A', '%ZZ', '%C0%AF', '\u0000', '\ud800', '../../etc/passwd', '..%2f..%2f', 'Infinity', '-Infinity', '1e400', '0x10', 'NaN', '-1', '1.5', '', ' '),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** JSON-ish values of every type, including prototype keys and hostile strings. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, 2 ** 53, -1, 0, 1e308),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A value nested `depth` levels deep: [[[...]]] */
export function deeplyNested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A response body must never carry a stack trace or any of the given secrets. */
export function assertNoLeak(body: string, secrets: string[]): void {
  if (/\n\s+at .+\(.+:\d+:\d+\)|node:internal|\.ts:\d+:\d+/.test(body)) throw new Error(`response leaks a stack trace: ${body.slice(0, 300)}`);
  for (const s of secrets) if (s && body.includes(s)) throw new Error('response leaks a secret');
}

/** Resident set size of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
