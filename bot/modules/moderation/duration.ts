// Timeout durations as moderators type them: a number and a unit (10m, 2h, 7d), at most 28 days
// (Discord's limit for communication_disabled_until).
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_TIMEOUT_MS = 28 * 86_400_000;

/** Milliseconds, or an error message naming what is wrong. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const match = /^(\d{1,5})\s*([smhd])$/i.exec(text.trim());
  if (!match) return { error: `\`${text}\` is not a duration: write a number and a unit, like 10m, 2h or 7d.` };
  const ms = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  if (ms < 1_000 || ms > MAX_TIMEOUT_MS) return { error: 'A timeout lasts from 1 second to 28 days.' };
  return { ms };
}
