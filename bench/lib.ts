// Shared by the benchmarks: processes, ports, RSS, percentiles, and printing a figure beside its baseline.
import { readFileSync } from 'node:fs';
import { writeTestConfig } from '../test/helpers/config';
import { freePort } from '../test/helpers/ports';
import { type Running, start, startScript } from '../test/helpers/process';
import { Redis } from 'ioredis';
import { REDIS_URL, uniqueName } from '../test/helpers/services';

export { freePort, type Running, start, startScript, uniqueName, writeTestConfig };

/** The environment with `options` added to NODE_OPTIONS (kept: what the caller runs under). */
export function withNodeOptions(options: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, options].filter(Boolean).join(' ') };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSim(args: string[]): Promise<{ sim: Running; url: string }> {
  const sim = start(['sim', '--port', String(await freePort()), ...args]);
  const url = (await sim.waitFor(/^sim listening on /, 120_000)).split(' ').at(-1)!;
  return { sim, url };
}

/** `nodeOptions`: added to NODE_OPTIONS for the proxy alone (heap size, snapshots). */
export async function startProxy(simUrl: string, extra: Record<string, unknown> = {}, nodeOptions = ''): Promise<{ proxy: Running; url: string; prefix: string }> {
  const port = await freePort();
  const prefix = `${uniqueName('bench')}:`;
  const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix, ...extra });
  const proxy = start(['proxy', '--config', path], { env: withNodeOptions(nodeOptions) });
  await proxy.waitFor(/"msg":"proxy listening/, 120_000);
  return { proxy, url: `http://127.0.0.1:${port}`, prefix };
}

/** Deletes what a bench proxy left in the shared Redis (its guild state alone is 10,000s of keys). */
export async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

export async function waitProxyReady(url: string, shards: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${url}/shards`)).json()) as { shards: { status: string }[] };
    if (body.shards.length === shards && body.shards.every((s) => s.status === 'Ready')) return;
    if (Date.now() > deadline) throw new Error('proxy shards not ready in time');
    await sleep(200);
  }
}

/**
 * Waits until the process has used under 5% of a core for 3 s in a row (it has taken in what
 * "Ready" announced: a shard is Ready at its READY, its GUILD_CREATEs come after).
 */
export async function waitIdle(pid: number, timeoutMs = 600_000): Promise<void> {
  const cpu = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  };
  const deadline = Date.now() + timeoutMs;
  for (let quiet = 0, last = cpu(); quiet < 3 && Date.now() < deadline; ) {
    await sleep(1_000);
    const now = cpu();
    quiet = now - last < 0.05 ? quiet + 1 : 0;
    last = now;
  }
}

export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** One result line: the figure, then its baseline from the same run. */
export function report(name: string, figure: string, baseline: string): void {
  process.stdout.write(`${name.padEnd(44)} ${figure.padEnd(28)} baseline: ${baseline}\n`);
}
