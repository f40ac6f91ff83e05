// "Every event once, in order" against what the sim sent, checked by each event's type and
// payload hash. The sim may send the same payload twice (TYPING_START's timestamp is in seconds),
// so a key may repeat: what a bot got must be one contiguous run of what the sim sent, which an
// event lost or delivered twice breaks.
import assert from 'node:assert/strict';

export function assertRunOf(got: string[], sent: string[], what: string): void {
  const starts = sent.flatMap((key, i) => (key === got[0] ? [i] : []));
  assert.ok(starts.length > 0, `${what}: the first event is one the sim sent`);
  const from = starts.find((i) => sent.slice(i, i + got.length).every((key, j) => key === got[j])) ?? starts[0]!;
  assert.deepEqual(got, sent.slice(from, from + got.length), `${what}: every event the sim sent, in its order, none twice`);
}
