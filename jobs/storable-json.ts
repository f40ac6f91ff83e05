// What a task's `data` may hold: what Postgres's jsonb can store (no \u0000, no lone UTF-16
// surrogate, in strings or keys) nested at most MAX_DEPTH deep. Checked before the insert so
// the client gets a 400 naming the place instead of a refused query.
export const MAX_DEPTH = 32;

// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function stringProblem(s: string): string | undefined {
  const bad = UNSTORABLE.exec(s);
  if (!bad) return undefined;
  return bad[0] === '\u0000' ? 'must not contain \\u0000' : 'must not contain a lone UTF-16 surrogate';
}

/** The first problem in `value`, as "<path> <what is wrong>", or undefined when it can be stored. */
export function unstorableJson(value: unknown, path: string): string | undefined {
  // Iterative, so a deep value cannot overflow the stack.
  const stack: [unknown, string, number][] = [[value, path, 0]];
  while (stack.length) {
    const [v, at, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return `${at} ${problem}`;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) return `${at} is nested too deep (at most ${MAX_DEPTH} levels)`;
      for (const [k, child] of Object.entries(v)) {
        const problem = stringProblem(k);
        if (problem) return `${at}: a key ${problem}`;
        stack.push([child, `${at}/${Array.isArray(v) ? k : k.replace(/[^\w-]/g, '?')}`, depth + 1]);
      }
    }
  }
  return undefined;
}
