// `splashtail dev`: the whole stack on one machine against the local Discord.
// Each service is this same executable as a child process, started in dependency order and
// announced on stdout as `<name>: <url>` once its health endpoint answers.
import { type ChildProcess, spawn } from 'node:child_process';
import { Command } from 'commander';
import type { Config } from '../internal/config';
import { loadConfigOrExit, withCommonOptions } from './common';

interface ServiceSpec {
  name: string;
  args: string[];
  url: string;
  health: string;
  /** Extra environment, given the names of the services already up. */
  env?: (up: Set<string>) => Record<string, string>;
}

function services(config: Config, configPath: string, env: string): ServiceSpec[] {
  const common = ['--config', configPath, '--env', env];
  const simUrl = `http://${config.sim.host}:${config.sim.port}`;
  const proxyUrl = `http://${config.proxy.host}:${config.proxy.port}`;
  const jobsUrl = `http://127.0.0.1:${config.meta.jobserver_port}`;
  const apiUrl = `http://${config.meta.host}:${config.meta.port}`;
  // Everything talks to the sim started here, whatever discord_auth.api_url says.
  const simApi = { SPLASHTAIL__DISCORD_AUTH__API_URL: `${simUrl}/api` };
  return [
    {
      name: 'sim',
      args: ['sim', ...common, '--port', String(config.sim.port), '--host', config.sim.host],
      url: simUrl,
      health: `${simUrl}/healthz`,
    },
    {
      name: 'proxy',
      args: ['proxy', ...common],
      url: `ws://${config.proxy.host}:${config.proxy.port}`,
      health: `${proxyUrl}/healthz`,
      env: () => ({ ...simApi, SPLASHTAIL__PROXY__AMQP__ENABLED: 'true', SPLASHTAIL__PROXY__STATE__ENABLED: 'true' }),
    },
    { name: 'jobs', args: ['jobs', ...common], url: jobsUrl, health: `${jobsUrl}/healthz`, env: () => simApi },
    {
      name: 'webserver',
      args: ['webserver', ...common],
      url: apiUrl,
      health: `${apiUrl}/healthz`,
      // With the proxy up, the bot clusters go through it so they restart without re-identifying.
      env: (up): Record<string, string> =>
        up.has('proxy')
          ? {
              SPLASHTAIL__BOT__GATEWAY_URL: `ws://${config.proxy.host}:${config.proxy.port}`,
              SPLASHTAIL__DISCORD_AUTH__API_URL: `${proxyUrl}/api`,
            }
          : simApi,
    },
  ];
}

export function devCommand(): Command {
  return withCommonOptions(
    new Command('dev').description('the whole stack (sim, proxy, jobs, webserver with its clusters) against the local Discord'),
  ).action(async (options: { config: string; env?: string }) => {
    const config = loadConfigOrExit(options);
    const running: { name: string; child: ChildProcess }[] = [];
    const up = new Set<string>();
    let stopping = false;

    const stopAll = async (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const { child } of [...running].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await new Promise((r) => child.once('exit', r));
        clearTimeout(killer);
      }
      process.exit(code);
    };
    process.once('SIGINT', () => void stopAll(0));
    process.once('SIGTERM', () => void stopAll(0));

    for (const spec of services(config, options.config, config.env)) {
      const child = spawn(process.argv[1]!, spec.args, {
        env: { ...process.env, ...spec.env?.(up) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const forward = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line) process.stderr.write(`[${spec.name}] ${line}\n`);
      };
      child.stdout!.on('data', forward);
      child.stderr!.on('data', forward);
      const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? 1)));
      running.push({ name: spec.name, child });

      const ready = await Promise.race([waitHealthy(spec.health, 60_000), exited.then((code) => ({ exited: code }))]);
      if (typeof ready === 'object') {
        process.stderr.write(`dev: ${spec.name} exited with code ${ready.exited} while starting\n`);
        return stopAll(1);
      }
      if (!ready) {
        process.stderr.write(`dev: ${spec.name} did not become healthy at ${spec.health} within 60 s\n`);
        return stopAll(1);
      }
      up.add(spec.name);
      process.stdout.write(`${spec.name}: ${spec.url}\n`);
      if (spec.name === 'proxy') {
        const { amqp, state } = config.proxy;
        process.stdout.write(`proxy events: ${redact(config.meta.amqp_url)} exchange "${amqp.exchange}" (queue "${amqp.exchange}.recv"), commands on "${amqp.send_queue}"\n`);
        process.stdout.write(`proxy state: ${redact(config.meta.redis_url)} key prefix "${state.prefix}"\n`);
      }
      void exited.then((code) => {
        if (stopping) return;
        process.stderr.write(`dev: ${spec.name} exited with code ${code}; stopping the stack\n`);
        void stopAll(1);
      });
    }
    process.stdout.write('dev: all services up; Ctrl-C stops them\n');
  });
}

/** A URL without its password, for printing. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function waitHealthy(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
