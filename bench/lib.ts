// Shared by the benchmarks: processes, ports, RSS, percentiles, and printing a figure beside its baseline.
import { readFileSync } from 'node:fs';
import { writeTestConfig } from '../test/helpers/config';
import { freePort } from '../test/helpers/ports';
import { type Running, start, startScript } from '../test/helpers/process';
import { uniqueName } from '../test/helpers/services';

export { freePort, type Running, start, startScript, uniqueName, writeTestConfig };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSim(args: string[]): Promise<{ sim: Running; url: string }> {
  const sim = start(['sim', '--port', String(await freePort()), ...args]);
  const url = (await sim.waitFor(/^sim listening on /, 120_000)).split(' ').at(-1)!;
  return { sim, url };
}

export async function startProxy(simUrl: string, extra: Record<string, unknown> = {}): Promise<{ proxy: Running; url: string }> {
  const port = await freePort();
  const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': `${uniqueName('bench')}:`, ...extra });
  const proxy = start(['proxy', '--config', path]);
  await proxy.waitFor(/"msg":"proxy listening/, 120_000);
  return { proxy, url: `http://127.0.0.1:${port}` };
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
