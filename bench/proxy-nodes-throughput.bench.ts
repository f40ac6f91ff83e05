// Events/s from the sim to a discord.js client through a 2-node deployment (`shards: auto`, one
// of 2 shards each, the client behind the round-robin relay, so a shard's session may be served
// by the node that does not own it, from the shard log) beside the same run's 1-node deployment
// (one `shards: auto` node owning both shards, the client connected to it).
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { startTcpRelay } from '../internal/net/tcp-relay';
import { DEFAULT_TOKEN } from '../internal/sim/world';
import { Deployment, waitUntil } from '../test/helpers/proxy-nodes';
import { dropKeys, freePort, report } from './lib';

const SHARDS = 2;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);

async function measure(nodes: number): Promise<number> {
  const relayPort = await freePort();
  const d = new Deployment({ shards: SHARDS, maxConcurrency: SHARDS, identifyIntervalMs: 0, leaseSeconds: 2, guilds: 10, config: { 'proxy.url': `ws://127.0.0.1:${relayPort}` } });
  const names = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent], rest: { api: `http://127.0.0.1:${relayPort}/api` }, shards: 'auto' });
  let relay: Awaited<ReturnType<typeof startTcpRelay>> | undefined;
  try {
    await d.startSim();
    const started = await Promise.all(names.map((n) => d.startNode(n)));
    relay = await startTcpRelay({ port: relayPort, backends: started.map((n) => ({ host: '127.0.0.1', port: Number(new URL(n.url).port) })) });
    await waitUntil('every shard Ready', async () => (await d.allReadyOn(started[0]!, names)) && (await d.nodeList(started[0]!)).nodes.every((n) => n.shards.length === SHARDS / nodes), 120_000, () => d.output());

    const ready = new Promise((r) => client.once(Events.ClientReady, r));
    await client.login(DEFAULT_TOKEN);
    await ready;
    let received = 0;
    let last = 0;
    const all = new Promise<void>((resolve) => {
      client.on(Events.Raw, (packet: { t?: string }) => {
        if (packet.t !== 'MESSAGE_CREATE') return;
        last = Date.now();
        if (++received === EVENTS) resolve();
      });
    });
    // Half the events in a guild of each shard, at once.
    const guilds = (await (await fetch(`${d.simUrl}/_sim/guilds`)).json()) as { id: string; shard: number }[];
    const from = Date.now();
    await Promise.all(Array.from({ length: SHARDS }, (_, shard) => fetch(`${d.simUrl}/_sim/burst`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: EVENTS / SHARDS, guild_id: guilds.find((g) => g.shard === shard)!.id }),
    })));
    await all;
    return EVENTS / ((last - from) / 1000);
  } finally {
    await client.destroy();
    await relay?.close();
    await d.close();
    await dropKeys(d.prefix);
  }
}

async function main() {
  const one = await measure(1);
  const two = await measure(2);
  report(`throughput via 2 proxy nodes, ${SHARDS} shards`, `${Math.round(two)} events/s`, `1 node ${Math.round(one)} events/s (same run, ${EVENTS} events)`);
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
