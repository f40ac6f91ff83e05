// Restart time to all shards ready: a discord.js bot through the proxy vs the identify floor
// of connecting straight to Discord (here the sim with max_concurrency 1 and a 5 s interval).
import { report, startProxy, startScript, startSim, waitProxyReady } from './lib';

const INTERVAL_MS = 5_000;
const floor = (shards: number) => ((shards - 1) * INTERVAL_MS) / 1000;

async function botReadySeconds(restUrl: string): Promise<number> {
  const started = Date.now();
  const bot = startScript(`${__dirname}/../test/fixtures/discordjs-bot.ts`, [restUrl]);
  await bot.waitFor(/^READY$/, 600_000);
  const seconds = (Date.now() - started) / 1000;
  await bot.stop('SIGKILL');
  return seconds;
}

async function main() {
  for (const shards of [16, 256]) {
    // The proxy's own upstream start is not measured: it happens once, not at every bot restart.
    const { sim, url: simUrl } = await startSim(['--shards', String(shards), '--guilds', String(shards * 4), '--max-concurrency', String(shards), '--identify-interval-ms', '0']);
    const { proxy, url } = await startProxy(simUrl);
    await waitProxyReady(url, shards);
    await botReadySeconds(`${url}/api`); // warm the bot's module cache
    const seconds = await botReadySeconds(`${url}/api`);
    report(`restart, ${shards} shards, via proxy`, `${seconds.toFixed(2)} s`, `direct identify floor ${floor(shards).toFixed(0)} s (max_concurrency 1, 5 s)`);
    await proxy.stop();
    await sim.stop();
  }
  if (process.env.BENCH_FULL === '1') {
    // Measure the direct figure too (takes over 75 s).
    const { sim, url } = await startSim(['--shards', '16', '--guilds', '64', '--max-concurrency', '1', '--identify-interval-ms', String(INTERVAL_MS)]);
    report('restart, 16 shards, direct to the sim', `${(await botReadySeconds(`${url}/api`)).toFixed(2)} s`, `floor ${floor(16)} s`);
    await sim.stop();
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
