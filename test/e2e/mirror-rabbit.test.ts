// RabbitMQ (a private broker) restarted in the middle of a burst: the proxy buffers, the mirror
// node reconnects and its quorum queues come back with what they held. Every message appears
// once in its target, in its channel's order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mirrorStack, waitUntil } from '../helpers/mirror';
import { privateRabbit } from '../helpers/rabbitmq';

const CHANNELS = 5;
const PER_CHANNEL = 60;

describe('splashtail mirror across a RabbitMQ restart', () => {
  let rabbit: Awaited<ReturnType<typeof privateRabbit>>;
  let s: Awaited<ReturnType<typeof mirrorStack>>;
  let pairs: Awaited<ReturnType<typeof s.linkedPairs>>;

  before(async () => {
    rabbit = await privateRabbit();
    await rabbit.start();
    s = await mirrorStack({ amqpUrl: rabbit.url });
    pairs = await s.linkedPairs(CHANNELS, 'restart');
    await s.startNode();
  });
  after(async () => {
    await s?.stop({ brokerGone: true });
    await rabbit?.remove();
  });

  it('nothing lost, nothing doubled', async () => {
    // Once a fifth is mirrored the broker goes down and comes back while posting goes on: the
    // messages posted meanwhile reach RabbitMQ only through the proxy's buffer.
    let posted = 0;
    const burst = Promise.all(pairs.map(async ({ source }, c) => {
      for (let i = 0; i < PER_CHANNEL; i++) {
        await s.say(source.guild, source.channel, `c${c} m${i}`);
        posted++;
      }
    }));
    await waitUntil('a fifth mirrored', async () => (await s.mirroredCount()) >= (CHANNELS * PER_CHANNEL) / 5, 60_000);
    await rabbit.stop();
    const postedWhileUp = posted;
    await rabbit.start();
    await burst;
    assert.ok(postedWhileUp < CHANNELS * PER_CHANNEL, `messages were posted while the broker was down (${CHANNELS * PER_CHANNEL - postedWhileUp})`);
    await s.assertMirroredOnce(pairs, PER_CHANNEL);
  });
});
