// Events/s through the proxy to one bot with the shard log on (every dispatch also appended to
// Redis, batched) vs off (the in-memory path alone), in the same run; and what was written.
import { DEFAULT_TOKEN } from '../internal/sim/world';
import { RawGatewayClient } from '../test/helpers/gateway-client';
import { report, startProxy, startSim, waitProxyReady } from './lib';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);

async function eventsPerSecond(proxyUrl: string, simUrl: string): Promise<number> {
  const bot = new RawGatewayClient(proxyUrl.replace('http', 'ws'));
  await bot.next((f) => f.op === 10);
  bot.identify(DEFAULT_TOKEN, { shard: [0, 1], intents: 1 | 512 });
  await bot.dispatch('READY', 30_000);
  const count = () => bot.frames.filter((f) => f.t === 'MESSAGE_CREATE').length;
  const started = Date.now();
  await fetch(`${simUrl}/_sim/burst`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: EVENTS }) });
  const deadline = Date.now() + 300_000;
  while (count() < EVENTS) {
    if (Date.now() > deadline) throw new Error(`only ${count()} of ${EVENTS} events arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const perSecond = EVENTS / ((Date.now() - started) / 1000);
  bot.close();
  return perSecond;
}

async function run(simUrl: string, maxEvents: number): Promise<{ perSecond: number; dropped: number }> {
  const { proxy, url } = await startProxy(simUrl, { 'proxy.shard_log_max_events': maxEvents });
  try {
    await waitProxyReady(url, 1);
    const perSecond = await eventsPerSecond(url, simUrl);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const dropped = metrics.split('\n').filter((l) => l.startsWith('proxy_shard_log_dropped_total')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    return { perSecond, dropped };
  } finally {
    await proxy.stop();
  }
}

async function main() {
  const { sim, url: simUrl } = await startSim(['--shards', '1', '--guilds', '2', '--identify-interval-ms', '0']);
  const off = await run(simUrl, 0);
  const on = await run(simUrl, 100_000);
  report('proxy events/s, shard log on', `${Math.round(on.perSecond)} events/s`, `log off (memory only) ${Math.round(off.perSecond)} events/s; ${on.dropped} log entries dropped`);
  await sim.stop();
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
