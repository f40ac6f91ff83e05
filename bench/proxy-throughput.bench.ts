// Events/s from the sim to a discord.js client through the proxy vs straight from the sim,
// vs JSON.parse + JSON.stringify of the same events on one core; added latency p50/p99.
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { DEFAULT_TOKEN } from '../internal/sim/world';
import { percentile, report, startProxy, startSim, waitProxyReady } from './lib';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);

async function measure(restUrl: string, simUrl: string): Promise<{ perSecond: number; p50: number; p99: number }> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent], rest: { api: restUrl }, shards: 'auto' });
  const ready = new Promise((r) => client.once(Events.ClientReady, r));
  await client.login(DEFAULT_TOKEN);
  await ready;
  let received = 0;
  let last = 0;
  let onEvent: (sentAt: number) => void = () => {};
  client.on(Events.Raw, (packet: { t?: string; d?: { content?: string } }) => {
    if (packet.t !== 'MESSAGE_CREATE') return;
    received++;
    last = Date.now();
    onEvent(Number(packet.d!.content));
  });
  const burst = (count: number) => fetch(`${simUrl}/_sim/burst`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count }) });

  // Throughput: one burst, as fast as the path delivers it.
  const started = Date.now();
  const all = new Promise<void>((resolve) => (onEvent = () => received === EVENTS && resolve()));
  await burst(EVENTS);
  await all;
  const perSecond = EVENTS / ((last - started) / 1000);

  // Latency: one event at a time, so no queue is measured.
  const latencies: number[] = [];
  for (let i = 0; i < 300; i++) {
    const one = new Promise<void>((resolve) => (onEvent = (sentAt) => { latencies.push(Date.now() - sentAt); resolve(); }));
    await burst(1);
    await one;
  }
  await client.destroy();
  latencies.sort((a, b) => a - b);
  return { perSecond, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function jsonBaseline(simSample: string): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) JSON.stringify(JSON.parse(simSample));
  return EVENTS / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main() {
  const { sim, url: simUrl } = await startSim(['--shards', '1', '--guilds', '2', '--identify-interval-ms', '0']);
  const direct = await measure(`${simUrl}/api`, simUrl);
  const { proxy, url } = await startProxy(simUrl);
  await waitProxyReady(url, 1);
  const proxied = await measure(`${url}/api`, simUrl);
  const sample = JSON.stringify({ op: 0, s: 1, t: 'MESSAGE_CREATE', d: { id: '1445202804238057472', channel_id: '1445202804238057473', guild_id: '1445202804112228352', author: { id: '1', username: 'ada', discriminator: '0', avatar: null, global_name: null }, content: String(Date.now()), timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0 } });
  report('throughput via proxy', `${Math.round(proxied.perSecond)} events/s`, `direct ${Math.round(direct.perSecond)} events/s; JSON parse+stringify ${Math.round(jsonBaseline(sample))} events/s`);
  report('latency via proxy p50 / p99', `${proxied.p50} / ${proxied.p99} ms`, `direct ${direct.p50} / ${direct.p99} ms (added p50 ${proxied.p50 - direct.p50} ms)`);
  await proxy.stop();
  await sim.stop();
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
