// The mirror's RabbitMQ topology. A router of ours, not the consistent-hash exchange: the proxy
// publishes with the event name as routing key (twilight-dispatch's names) and no channel header,
// so that exchange could not hash by channel without changing the proxy's messages; the router is
// one more hop but needs no plugin, and the hash is ours to test.
//
//   exchange `gateway` --(MESSAGE_*, CHANNEL_DELETE, GUILD_DELETE)--> <prefix>.in  (quorum, one active consumer)
//   router: hash(source channel) % partitions --> <prefix>.p.<n>         (quorum, one active consumer each)
//
// Every node consumes all of them; RabbitMQ gives each queue to one node at a time and moves it
// when that node dies, with its unacked deliveries, in order.
import type { ConfirmChannel } from 'amqplib';
import { MIRROR_EVENTS } from './events';

export const queueOptions = { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true } };

export const inputQueue = (prefix: string) => `${prefix}.in`;
export const partitionQueue = (prefix: string, n: number) => `${prefix}.p.${n}`;

export async function declareTopology(channel: ConfirmChannel, exchange: string, prefix: string, partitions: number): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(inputQueue(prefix), queueOptions);
  for (const event of MIRROR_EVENTS) await channel.bindQueue(inputQueue(prefix), exchange, event);
  for (let n = 0; n < partitions; n++) await channel.assertQueue(partitionQueue(prefix, n), queueOptions);
}

/** FNV-1a of the key: stable across nodes and versions, so a channel always maps to one partition. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
