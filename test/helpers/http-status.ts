// Polling an HTTP endpoint until it answers a given status, within a deadline.

/** Resolves with the last status seen (0: no answer): `expected`, or another once the deadline passes. */
export async function waitForStatus(url: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (status !== expected && Date.now() < deadline) {
    status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
    if (status !== expected) await new Promise((r) => setTimeout(r, 250));
  }
  return status;
}
