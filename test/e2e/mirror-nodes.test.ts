// Two mirror nodes share the partitions through RabbitMQ (one active consumer per quorum queue).
// The active one is killed with SIGKILL during a burst of 500 messages across 20 channels: every
// message must appear exactly once in its target, in its channel's order, counted in the sim.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mirrorStack, waitUntil } from '../helpers/mirror';

const CHANNELS = 20;
const PER_CHANNEL = 25;

describe('splashtail mirror on two nodes', () => {
  let s: Awaited<ReturnType<typeof mirrorStack>>;
  let pairs: Awaited<ReturnType<typeof s.linkedPairs>>;

  before(async () => {
    s = await mirrorStack({ partitions: 8, restLimit: 5000 });
    pairs = await s.linkedPairs(CHANNELS, 'burst');
  });
  after(async () => {
    await s?.stop();
  });

  it('kill -9 of the active node mid-burst: every message once per target, in order per channel', async () => {
    const first = await s.startNode();
    await s.startNode();
    // Each channel posts its messages in order; the channels post side by side. The active node is
    // killed once it has mirrored a fifth of the burst, with the rest still queued or in flight.
    const burst = Promise.all(pairs.map(async ({ source }, c) => {
      for (let i = 0; i < PER_CHANNEL; i++) await s.say(source.guild, source.channel, `c${c} m${i}`);
    }));
    await waitUntil('a fifth mirrored', async () => (await s.mirroredCount()) >= (CHANNELS * PER_CHANNEL) / 5, 60_000);
    first.child.kill('SIGKILL');
    const atKill = await s.mirroredCount();
    await burst;
    assert.ok(atKill < CHANNELS * PER_CHANNEL, `killed mid-burst (${atKill} mirrored)`);
    await s.assertMirroredOnce(pairs, PER_CHANNEL);
    const settled = s.nodes[1]!.output().split('\n').filter((l) => l.includes('already posted')).length;
    console.log(`# ${atKill} of ${CHANNELS * PER_CHANNEL} mirrored at the kill; ${settled} redelivered sends found in the targets`);
    const { rows } = await s.pool.query('select count(*)::int as n from mirror_messages where target_message_id is null');
    assert.equal(rows[0].n, 0, 'no pending row left');
  });
});
