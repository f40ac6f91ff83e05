// `splashtail dev`: the whole stack on one machine against the local Discord.
// Each service is this same executable as a child process, started in dependency order and
// announced on stdout as `<name>: <url>` once its health endpoint answers.
import { type ChildProcess, spawn } from 'node:child_process';
import { Command } from 'commander';
import type { Config } from '../internal/config';
import type { TcpRelay } from '../internal/net/tcp-relay';
import type { DevInstance } from './dev-instance';
import { withCommonOptions } from './options';

interface ServiceSpec {
  name: string;
  args: string[];
  url: string;
  health: string;
  /** Extra environment, given the names of the services already up. */
  env?: (up: Set<string>) => Record<string, string>;
}

/**
 * `--proxies N` (N > 1): N proxy nodes on proxy.port+1..N in `shards: auto` (they share the sim's
 * shards by leases: kill one and the others take its shards by RESUME), behind a round-robin relay
 * on proxy.port, the URL bots are given (READY's resume_gateway_url): a bot whose node dies
 * reconnects through the relay to another one.
 */
function proxyNodes(config: Config, common: string[], count: number, simApi: Record<string, string>): ServiceSpec[] {
  const shards = config.sim.shards;
  return Array.from({ length: count }, (_, i) => {
    const port = config.proxy.port + 1 + i;
    const url = `http://${config.proxy.host}:${port}`;
    return {
      name: `proxy-${i + 1}`,
      args: ['proxy', ...common],
      url: url.replace('http', 'ws'),
      health: `${url}/healthz`,
      env: () => ({
        ...simApi,
        SPLASHTAIL__PROXY__AMQP__ENABLED: 'true',
        SPLASHTAIL__PROXY__STATE__ENABLED: 'true',
        SPLASHTAIL__PROXY__PORT: String(port),
        SPLASHTAIL__PROXY__URL: `ws://${config.proxy.host}:${config.proxy.port}`,
        SPLASHTAIL__PROXY__SHARDS: 'auto',
        SPLASHTAIL__PROXY__NODE_NAME: `proxy-${i + 1}`,
        SPLASHTAIL__PROXY__SHARD_COUNT: String(shards),
      }),
    };
  });
}

function services(config: Config, configPath: string, env: string, proxies: number): ServiceSpec[] {
  const common = ['--config', configPath, '--env', env];
  const simUrl = `http://${config.sim.host}:${config.sim.port}`;
  const proxyUrl = `http://${config.proxy.host}:${config.proxy.port}`;
  const jobsUrl = `http://127.0.0.1:${config.meta.jobserver_port}`;
  const apiUrl = `http://${config.meta.host}:${config.meta.port}`;
  const mirrorUrl = `http://${config.mirror.host}:${config.mirror.port}`;
  // Everything talks to the sim started here, whatever discord_auth.api_url says.
  const simApi = { SPLASHTAIL__DISCORD_AUTH__API_URL: `${simUrl}/api` };
  return [
    {
      name: 'sim',
      args: ['sim', ...common, '--port', String(config.sim.port), '--host', config.sim.host],
      url: simUrl,
      health: `${simUrl}/healthz`,
    },
    ...(proxies > 1
      ? proxyNodes(config, common, proxies, simApi)
      : [
          {
            name: 'proxy',
            args: ['proxy', ...common],
            url: `ws://${config.proxy.host}:${config.proxy.port}`,
            health: `${proxyUrl}/healthz`,
            env: () => ({ ...simApi, SPLASHTAIL__PROXY__AMQP__ENABLED: 'true', SPLASHTAIL__PROXY__STATE__ENABLED: 'true' }),
          },
        ]),
    { name: 'jobs', args: ['jobs', ...common], url: jobsUrl, health: `${jobsUrl}/healthz`, env: () => simApi },
    { name: 'mirror', args: ['mirror', ...common], url: mirrorUrl, health: `${mirrorUrl}/healthz`, env: () => simApi },
    {
      name: 'webserver',
      args: ['webserver', ...common],
      url: apiUrl,
      health: `${apiUrl}/healthz`,
      env: (up): Record<string, string> => ({
        // The bot's commands in the sim, as a deployment registers them.
        BOOTSTRAP_COMMANDS: 'true',
        // Login comes back to this webserver and lands on the website it serves.
        SPLASHTAIL__DISCORD_AUTH__ALLOWED_REDIRECTS: JSON.stringify([`${apiUrl}/auth/callback`]),
        SPLASHTAIL__SITES__FRONTEND: JSON.stringify(`${apiUrl}/`),
        // With the proxy up, the bot clusters go through it so they restart without re-identifying.
        ...(up.has('proxy')
          ? {
              SPLASHTAIL__BOT__GATEWAY_URL: `ws://${config.proxy.host}:${config.proxy.port}`,
              SPLASHTAIL__DISCORD_AUTH__API_URL: `${proxyUrl}/api`,
            }
          : simApi),
      }),
    },
  ];
}

export function devCommand(): Command {
  return withCommonOptions(
    new Command('dev').description('the whole stack (sim, proxy, jobs, webserver with its clusters) against the local Discord'),
  )
    .option('--proxies <n>', 'proxy nodes, behind a round-robin relay on proxy.port when more than 1 (default 1)', '1')
    .action(async (options: { config: string; env?: string; proxies: string }) => {
    const [{ loadConfigOrExit }, { declareDevQueues, devInstance }] = await Promise.all([import('./common'), import('./dev-instance')]);
    const config = loadConfigOrExit(options);
    const proxies = Number(options.proxies);
    if (!Number.isInteger(proxies) || proxies < 1 || proxies > config.sim.shards) {
      process.stderr.write(`dev: --proxies must be a whole number from 1 to sim.shards (${config.sim.shards}), got ${options.proxies}\n`);
      process.exit(2);
    }
    const relays: TcpRelay[] = [];
    const instance = devInstance(config);
    const running: { name: string; child: ChildProcess }[] = [];
    const up = new Set<string>();
    let stopping = false;

    const stopAll = async (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const relay of relays) await relay.close();
      for (const { child } of [...running].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await new Promise((r) => child.once('exit', r));
        clearTimeout(killer);
      }
      process.exit((await removeInstance(config, instance)) ? code : code || 1);
    };
    process.once('SIGINT', () => void stopAll(0));
    process.once('SIGTERM', () => void stopAll(0));

    try {
      await declareDevQueues(config, instance);
    } catch (err) {
      process.stderr.write(`dev: cannot declare the instance's queues at ${redact(config.meta.amqp_url)}: ${(err as Error).message}\n`);
      return stopAll(1);
    }
    process.stdout.write(`dev: instance ${instance.id}: Redis keys under "${instance.redisPrefix}", IPC channel "${instance.channel}", exchange "${instance.exchange}"; all removed on stop\n`);

    for (const spec of services(config, options.config, config.env, proxies)) {
      const child = spawn(process.argv[1]!, spec.args, {
        env: { ...process.env, ...instance.env, ...spec.env?.(up) },
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
      if (spec.name === `proxy-${proxies}`) {
        const { startTcpRelay } = await import('../internal/net/tcp-relay');
        const relay = await startTcpRelay({ host: config.proxy.host, port: config.proxy.port, backends: Array.from({ length: proxies }, (_, i) => ({ host: config.proxy.host, port: config.proxy.port + 1 + i })) });
        relays.push(relay);
        up.add('proxy');
        process.stdout.write(`proxy: ws://${config.proxy.host}:${relay.port} (round-robin relay over ${proxies} nodes)\n`);
      }
      if (spec.name === 'proxy' || spec.name === 'proxy-1') {
        process.stdout.write(`proxy events: ${redact(config.meta.amqp_url)} exchange "${instance.exchange}" (queue "${instance.recvQueue}", at most ${config.dev.recv_max_events} events), commands on "${instance.sendQueue}"\n`);
        process.stdout.write(`proxy state: ${redact(config.meta.redis_url)} key prefix "${instance.redisPrefix}state:"\n`);
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

/** Removes the instance's keys and queues; false (with the reason on stderr) when it could not. */
async function removeInstance(config: Config, instance: DevInstance): Promise<boolean> {
  try {
    const { removeDevInstance } = await import('./dev-instance');
    const removed = await removeDevInstance(config, instance);
    process.stdout.write(`dev: removed instance ${instance.id}: ${removed.keys} Redis keys, ${removed.queues} queues and the exchange\n`);
    return true;
  } catch (err) {
    process.stderr.write(`dev: could not remove instance ${instance.id}'s keys and queues: ${(err as Error).message}\n`);
    return false;
  }
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
