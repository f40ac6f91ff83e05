// EventPublisher against the shared RabbitMQ through a TCP relay the test controls: the relay
// stops reading (the publisher's socket fills and it waits for drain), then cuts the connection;
// the publisher must come back and deliver everything. Also a channel error (404) mid-stream
// and the bounded buffer's counted overflow.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import amqp, { type ChannelModel } from 'amqplib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EventPublisher } from '../../proxy/amqp/publisher';
import { AMQP_URL, uniqueName } from '../helpers/services';
import { waitUntil } from '../helpers/deadline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A TCP relay to RabbitMQ that can stop reading from its clients and cut every connection. */
async function relay(target: URL) {
  const pairs: [Socket, Socket][] = [];
  let reading = true;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5672), target.hostname);
    pairs.push([client, upstream]);
    client.pipe(upstream);
    upstream.pipe(client);
    if (!reading) client.pause();
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const cutAll = () => {
    for (const [client, upstream] of pairs.splice(0)) {
      client.destroy();
      upstream.destroy();
    }
  };
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.toString(),
    /** Stops reading what the clients send: their socket buffers fill. */
    stopReading() {
      reading = false;
      for (const [client] of pairs) {
        client.unpipe();
        client.pause();
      }
    },
    /** Cuts every connection and reads normally again for new ones. */
    cut() {
      cutAll();
      reading = true;
    },
    close: () => {
      cutAll();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('EventPublisher recovery', () => {
  let admin: ChannelModel;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    admin = await amqp.connect(AMQP_URL);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await admin.close();
  });

  /** A publisher on its own exchange (with its `.recv` queue) and a consumer counting unique ids. */
  async function setup(url: string, { bufferMax = 1_000_000, batchSize = 200 } = {}) {
    const exchange = uniqueName('st_pub');
    const registry = new Registry();
    const publisher = new EventPublisher({ url, exchange, defaultQueue: true, bufferMax, logger: pino({ level: 'silent' }), registry, batchSize });
    await publisher.start();
    const ch = await admin.createChannel();
    await ch.assertQueue(`${exchange}.recv`, { durable: true });
    const seen = new Set<number>();
    const order: number[] = [];
    await ch.consume(`${exchange}.recv`, (msg) => {
      if (!msg) return;
      const id = (JSON.parse(msg.content.toString()) as { s: number }).s;
      if (!seen.has(id)) order.push(id);
      seen.add(id);
      ch.ack(msg);
    });
    cleanup.push(async () => {
      await publisher.close(1_000);
      await ch.deleteQueue(`${exchange}.recv`);
      await ch.deleteExchange(exchange);
      await ch.close();
    });
    let next = 0;
    const publish = (count: number, size = 100) => {
      const pad = 'x'.repeat(size);
      for (let i = 0; i < count; i++) publisher.publish({ op: 0, t: 'MESSAGE_CREATE', d: { pad }, s: next++, shard: 0 });
    };
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(await registry.metrics())?.[1]);
    return { exchange, publisher, seen, order, publish, metric, sent: () => next };
  }

  it('recovers from a connection lost while waiting for drain, and publishes afterwards', async () => {
    const r = await relay(new URL(AMQP_URL));
    cleanup.push(r.close);
    // amqplib's channel buffer holds 1024 messages: a batch larger than that must wait for drain.
    const p = await setup(r.url, { batchSize: 5_000 });
    await waitUntil('connected', async () => (await p.metric('proxy_amqp_connected')) === 1);
    p.publish(50);
    await waitUntil('first events', () => p.seen.size === 50);
    r.stopReading();
    // 60 MB: more than the socket buffers hold (loopback's can take ~36 MB), so the publisher waits for drain.
    p.publish(6_000, 10_000);
    await sleep(1_500);
    assert.ok(p.publisher.pending > 0, 'events are held while the broker does not read');
    r.cut();
    await waitUntil('every event after the reconnect', () => p.seen.size === p.sent(), 60_000);
    p.publish(10);
    await waitUntil('publishing goes on', () => p.seen.size === p.sent());
    assert.deepEqual(p.order, [...p.order].sort((a, b) => a - b), 'in order');
    assert.equal(await p.metric('proxy_amqp_dropped_total'), 0);
  });

  it('recovers from a channel error (exchange deleted under it)', async () => {
    const p = await setup(AMQP_URL);
    await waitUntil('connected', async () => (await p.metric('proxy_amqp_connected')) === 1);
    p.publish(20);
    await waitUntil('first events', () => p.seen.size === 20);
    const ch = await admin.createChannel();
    await ch.deleteExchange(p.exchange);
    await ch.close();
    // The first publish to the missing exchange closes the channel (404); the publisher
    // reconnects, declares the exchange and its queue binding again and publishes the rest.
    p.publish(100);
    await waitUntil('every event after the channel error', () => p.seen.size === p.sent());
    p.publish(10);
    await waitUntil('publishing goes on', () => p.seen.size === p.sent());
  });

  it('counts what the bounded buffer drops while the broker is unreachable, and loses nothing else', async () => {
    const r = await relay(new URL(AMQP_URL));
    cleanup.push(r.close);
    const p = await setup(r.url, { bufferMax: 300 });
    await waitUntil('connected', async () => (await p.metric('proxy_amqp_connected')) === 1);
    r.stopReading();
    p.publish(2_000, 10_000);
    await sleep(1_000);
    r.cut();
    await waitUntil('drained', () => p.publisher.pending === 0, 60_000);
    await waitUntil('received', async () => p.seen.size + (await p.metric('proxy_amqp_dropped_total')) === p.sent());
    const dropped = await p.metric('proxy_amqp_dropped_total');
    assert.ok(dropped > 0, 'the buffer overflowed');
    assert.equal(p.seen.size, p.sent() - dropped, 'lost exactly the counted overflow');
  });
});
