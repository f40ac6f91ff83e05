// Every wait in a test has a deadline: a promise that does not settle in time fails the test
// with what it was waiting for, rather than hanging until the runner's timeout.
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Polls `fn` until it returns a truthy value (a throw counts as not yet) and resolves with it;
 * past `timeoutMs` fails naming `what`, with `context()` (a process's recent output, say).
 */
export async function poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, context: () => string = () => '', intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `fn` holds, checking every 50 ms; past `timeoutMs` fails naming `what`. */
export async function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
