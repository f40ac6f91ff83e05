// CommandConsumer on the shared RabbitMQ: a command whose handler keeps failing is retried
// with growing delays through `<queue>.retry`, then lands in `<queue>.dlq` and is not run again;
// one that fails and then succeeds is done once, and nothing is left on any queue. A command a
// gateway client could not send either goes to the DLQ at once, with the problem named.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ATTEMPTS_HEADER, type CommandHandler, CommandConsumer } from '../../proxy/amqp/commands';
import { AMQP_URL, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_ATTEMPTS = 4;
const DELAY_MS = 300;

describe('gateway.send commands that fail', () => {
  let admin: ChannelModel;
  let ch: Channel;
  let consumer: CommandConsumer;
  const queue = uniqueName('st_send');
  const registry = new Registry();
  /** Times at which each command (by presence status) reached the handler. */
  const calls = new Map<string, number[]>();
  const memberRequests: unknown[] = [];
  const handler: CommandHandler = {
    hasShard: () => true,
    reconnect: async () => {},
    send: async (_shard, payload) => {
      if (payload.op === 8) return void memberRequests.push(payload.d);
      const key = (payload.d as { status: string }).status;
      const times = [...(calls.get(key) ?? []), Date.now()];
      calls.set(key, times);
      // `idle` always fails; `dnd` fails twice, then works.
      if (key === 'idle' || (key === 'dnd' && times.length <= 2)) throw new Error(`shard refused ${key}`);
    },
  };
  const command = (status: string) => Buffer.from(JSON.stringify({ op: 0, shard: 0, data: { op: 3, d: { since: null, activities: [], status, afk: false } } }));
  /** checkQueue on a channel of its own: a missing queue closes the channel (404). */
  const exists = async (name: string) => {
    const probe = await admin.createChannel();
    probe.on('error', () => {});
    return probe.checkQueue(name).then(() => (void probe.close(), true), () => false);
  };
  const outcome = async (name: string) => Number(new RegExp(`^proxy_amqp_commands_total\\{outcome="${name}"\\} (\\d+)`, 'm').exec(await registry.metrics())?.[1] ?? 0);

  before(async () => {
    admin = await amqp.connect(AMQP_URL);
    ch = await admin.createChannel();
    consumer = new CommandConsumer({ url: AMQP_URL, queue, handler, logger: pino({ level: 'silent' }), registry, maxAttempts: MAX_ATTEMPTS, retryDelayMs: DELAY_MS });
    await consumer.start();
    await waitUntil('queues declared', () => exists(`${queue}.dlq`));
  });

  after(async () => {
    await consumer.close();
    for (const q of [queue, `${queue}.retry`, `${queue}.dlq`]) await ch.deleteQueue(q);
    await admin.close();
  });

  it('retries a failing command with growing delays, then dead-letters it once and runs it no more', async () => {
    ch.sendToQueue(queue, command('idle'));
    const dead: amqp.GetMessage[] = [];
    await waitUntil('in the DLQ', async () => {
      const got = await ch.get(`${queue}.dlq`, { noAck: true });
      if (got) dead.push(got);
      return dead.length > 0;
    }, 30_000);
    const message = dead[0]!;
    const times = calls.get('idle')!;
    assert.equal(times.length, MAX_ATTEMPTS, 'tried exactly maxAttempts times');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    gaps.forEach((gap, i) => assert.ok(gap >= DELAY_MS * 2 ** i * 0.9, `gap ${i + 1} (${gap} ms) is at least ${DELAY_MS * 2 ** i} ms`));
    assert.ok(gaps[2]! > gaps[0]!, `delays grow: ${gaps.join(', ')}`);
    assert.deepEqual(message.content, command('idle'));
    assert.equal(message.properties.headers?.[ATTEMPTS_HEADER], MAX_ATTEMPTS);
    assert.match(String(message.properties.headers?.['x-splashtail-error']), /shard refused idle/);
    // Twice the last delay: no further try, and nothing left to loop on.
    await sleep(DELAY_MS * 2 ** MAX_ATTEMPTS);
    assert.equal(calls.get('idle')!.length, MAX_ATTEMPTS);
    for (const q of [queue, `${queue}.retry`, `${queue}.dlq`]) assert.equal((await ch.checkQueue(q)).messageCount, 0, q);
    assert.equal(await outcome('dead_lettered'), 1);
    assert.equal(await outcome('retried'), MAX_ATTEMPTS - 1);
  });

  it('a command that fails twice and then works is done once and not dead-lettered', async () => {
    ch.sendToQueue(queue, command('dnd'));
    await waitUntil('done', async () => (await outcome('done')) === 1, 30_000);
    assert.equal(calls.get('dnd')!.length, 3);
    await sleep(DELAY_MS * 4);
    assert.equal(calls.get('dnd')!.length, 3);
    for (const q of [queue, `${queue}.retry`, `${queue}.dlq`]) assert.equal((await ch.checkQueue(q)).messageCount, 0, q);
  });

  it('sends a malformed payload to the DLQ at once with its problem, never to a shard; keeps numeric snowflakes exact', async () => {
    const bad: [unknown, RegExp][] = [
      [{ op: 0, shard: 0, data: { op: 3, d: { since: null, activities: [], status: 'sleeping', afk: false } } }, /data\.d: Presence status must be/],
      [{ op: 0, shard: 0, data: { op: 8, d: { query: '', limit: 0 } } }, /data\.d: Request guild members needs one guild_id/],
      [{ op: 0, shard: 0, data: { op: 4, d: { guild_id: '1', channel_id: null } } }, /data\.d: Voice state update needs self_mute and self_deaf/],
      ['not json', /body is not JSON/],
    ];
    const rejectedBefore = await outcome('rejected');
    for (const [body] of bad) ch.sendToQueue(queue, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    // A number too big for a double reaches the shard as the exact id.
    ch.sendToQueue(queue, Buffer.from('{"op":0,"shard":0,"data":{"op":8,"d":{"guild_id":1445202678341828608,"query":"","limit":0}}}'));
    const dead: amqp.GetMessage[] = [];
    await waitUntil('all in the DLQ', async () => {
      const got = await ch.get(`${queue}.dlq`, { noAck: true });
      if (got) dead.push(got);
      return dead.length === bad.length;
    });
    for (const [i, [body, problem]] of bad.entries()) {
      const message = dead.find((m) => m.content.toString() === (typeof body === 'string' ? body : JSON.stringify(body)));
      assert.ok(message, `command ${i} dead-lettered`);
      assert.match(String(message.properties.headers?.['x-splashtail-error']), problem);
    }
    assert.equal(await outcome('rejected'), rejectedBefore + bad.length);
    await waitUntil('the good one sent', () => memberRequests.length === 1);
    assert.deepEqual(memberRequests, [{ guild_id: '1445202678341828608', query: '', limit: 0 }]);
    assert.ok(!calls.has('sleeping'), 'no malformed command reached the handler');
    for (const q of [queue, `${queue}.retry`, `${queue}.dlq`]) assert.equal((await ch.checkQueue(q)).messageCount, 0, q);
  });

  it('starts on a deployment whose gateway.send queue already exists without arguments', async () => {
    // The retry and dead-letter queues are new ones: the old queue is never redeclared with other arguments.
    const old = uniqueName('st_send_old');
    await ch.assertQueue(old, { durable: true });
    const other = new CommandConsumer({ url: AMQP_URL, queue: old, handler, logger: pino({ level: 'silent' }), registry: new Registry(), maxAttempts: 2, retryDelayMs: 50 });
    try {
      await other.start();
      await waitUntil('declared', () => exists(`${old}.dlq`));
      ch.sendToQueue(old, command('idle'));
      await waitUntil('dead-lettered', async () => (await ch.checkQueue(`${old}.dlq`)).messageCount === 1);
    } finally {
      await other.close();
      for (const q of [old, `${old}.retry`, `${old}.dlq`]) await ch.deleteQueue(q);
    }
  });
});
