// Whether an error means Postgres is out of reach: kept apart from pool.ts so code that only
// classifies errors (the bot modules the clusterer lists) does not load pg.
// SQLSTATE classes and socket errors that mean "Postgres is not reachable now", as opposed to a
// query Postgres refused: 08 connection exception, 57P01-03 shutting down / starting up, 53300 too many connections.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable/;

/** True when `err` says Postgres could not be reached (retry later), not that a query was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  return UNAVAILABLE_MESSAGES.test(err.message);
}
