// Proxy RSS on the realistic world (sim --profile realistic) at 10,000 guilds (and 50,000 with
// BENCH_FULL=1) vs a discord.js Client with default caches and the same intents holding the
// same guilds, both under the same --max-old-space-size; then with proxy.guild_state.members
// "none", per shard beside gateway-proxy's reported 52 MB per shard. Medians of BENCH_RUNS (3).
import { loadConfig } from '../internal/config';
import { dropKeys, report, rssMiB, sleep, start, startProxy, startSim, waitIdle, waitProxyReady, withNodeOptions, writeTestConfig } from './lib';

const HEAP = '--max-old-space-size=4096';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** The intents the benchmark's proxies identify with. */
const INTENTS = loadConfig({ path: writeTestConfig({}).path }).config.proxy.intents;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * RSS of an idle process 10 s after it went idle (`early`), and 120 s after (`settled`): an idle
 * Node process keeps startup's garbage until V8's memory reducer collects it, about 100 s after
 * the last collection (its watchdog), the same for both sides.
 */
async function settledRss(pid: number): Promise<{ early: number; settled: number }> {
  await waitIdle(pid);
  await sleep(10_000);
  const early = rssMiB(pid);
  await sleep(110_000);
  return { early, settled: rssMiB(pid) };
}

async function proxyRss(simUrl: string, shards: number, extra: Record<string, unknown> = {}): Promise<{ early: number; settled: number }> {
  const { proxy, url, prefix } = await startProxy(simUrl, extra, HEAP);
  await waitProxyReady(url, shards, 600_000);
  const rss = await settledRss(proxy.child.pid!);
  await proxy.stop();
  await dropKeys(prefix);
  return rss;
}

async function botRss(simUrl: string): Promise<{ rss: { early: number; settled: number }; members: number }> {
  const bot = start([`${__dirname}/discordjs-cache-bot.ts`, `${simUrl}/api`, String(INTENTS)], { bin: process.execPath, preArgs: ['--import', 'tsx'], env: withNodeOptions(HEAP) });
  const members = Number((await bot.waitFor(/^CACHED /, 600_000)).split(' ')[2]);
  const rss = await settledRss(bot.child.pid!);
  await bot.stop('SIGKILL');
  return { rss, members };
}

async function main() {
  for (const guilds of process.env.BENCH_FULL ? [10_000, 50_000] : [10_000]) {
    const shards = Math.ceil(guilds / 1_000);
    const { sim, url: simUrl } = await startSim(['--profile', 'realistic', '--shards', String(shards), '--guilds', String(guilds), '--max-concurrency', String(shards), '--identify-interval-ms', '0']);
    const proxy: { early: number; settled: number }[] = [];
    const none: { early: number; settled: number }[] = [];
    const bot: { early: number; settled: number }[] = [];
    let members = 0;
    for (let run = 0; run < RUNS; run++) {
      proxy.push(await proxyRss(simUrl, shards));
      none.push(await proxyRss(simUrl, shards, { 'proxy.guild_state.members': 'none' }));
      const b = await botRss(simUrl);
      bot.push(b.rss);
      members = b.members;
    }
    const settled = (xs: typeof proxy) => median(xs.map((x) => x.settled));
    const [p, s, d] = [settled(proxy), settled(none), settled(bot)];
    const per = (mib: number, n: number) => `${((mib * 2 ** 20) / n).toFixed(0)} B`;
    report(`proxy RSS, ${guilds} realistic guilds`, `${p.toFixed(0)} MiB (${(p / d).toFixed(2)}x)`, `discord.js Client ${d.toFixed(0)} MiB`);
    report('  per guild', per(p, guilds), `discord.js ${per(d, guilds)}`);
    report(`  per cached member (${members})`, per(p, members), `discord.js ${per(d, members)}`);
    report(`proxy RSS per shard, members "none" (${shards})`, `${(s / shards).toFixed(1)} MiB (${((s * 2 ** 20) / shards / 1e6).toFixed(1)} MB)`, 'gateway-proxy 52 MB/shard (reported)');
    const runs = (xs: typeof proxy) => xs.map((x) => `${Math.round(x.settled)} (${Math.round(x.early)})`).join(' ');
    process.stdout.write(`  runs, MiB 120 s idle (10 s idle): proxy ${runs(proxy)}, members none ${runs(none)}, discord.js ${runs(bot)}\n`);
    await sim.stop();
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
