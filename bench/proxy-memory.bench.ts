// Proxy RSS holding 1,000 and 10,000 guilds vs a discord.js Client (default caches) holding the same.
import { report, rssMiB, sleep, startProxy, startScript, startSim, waitProxyReady } from './lib';

async function settledRss(pid: number): Promise<number> {
  await sleep(3_000);
  return rssMiB(pid);
}

async function main() {
  for (const guilds of [1_000, 10_000]) {
    const shards = Math.max(1, Math.ceil(guilds / 1_000));
    const { sim, url: simUrl } = await startSim(['--shards', String(shards), '--guilds', String(guilds), '--max-concurrency', String(shards), '--identify-interval-ms', '0']);
    const { proxy, url } = await startProxy(simUrl);
    await waitProxyReady(url, shards, 300_000);
    const proxyRss = await settledRss(proxy.child.pid!);
    await proxy.stop();
    const bot = startScript(`${__dirname}/../test/fixtures/discordjs-bot.ts`, [`${simUrl}/api`]);
    await bot.waitFor(/^READY$/, 300_000);
    const botRss = await settledRss(bot.child.pid!);
    await bot.stop('SIGKILL');
    report(`proxy RSS, ${guilds} guilds`, `${proxyRss.toFixed(0)} MiB`, `discord.js Client ${botRss.toFixed(0)} MiB`);
    await sim.stop();
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
