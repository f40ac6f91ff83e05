// Private Redis, RabbitMQ and Postgres instances on free ports with temp data dirs, for tests
// that stop, kill or pause a service (the shared ones on the standard ports are never touched).
// Every instance must be `remove()`d (in `after`/`finally`): it stops the process and deletes
// its directory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface PrivateService {
  name: string;
  url: string;
  port: number;
  /** Starts it (again) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** A clean stop; resolves once the port is closed. */
  stop(): Promise<void>;
  kill(): void;
  pause(): void;
  resume(): void;
  /** Stops it if running and deletes its data. */
  remove(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

async function waitPort(port: number, open: boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await listening(port)) !== open) {
    if (Date.now() > deadline) throw new Error(`${what} on ${port} did not ${open ? 'start' : 'stop'} in ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

const signal = (pid: number | undefined, sig: NodeJS.Signals) => {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
};

/**
 * The controls every private service shares, around its own `launch` (start the process; it
 * resolves once the process is started) and `halt` (a clean stop) and the pid it runs as.
 */
function privateService(spec: {
  name: string; port: number; url: string; dir: string; what: string;
  pid: () => number | undefined; launch: () => Promise<void> | void; halt: () => Promise<void> | void;
}): PrivateService {
  let running = false;
  const service: PrivateService = {
    name: spec.name, port: spec.port, url: spec.url,
    async start() {
      await spec.launch();
      running = true;
      await waitPort(spec.port, true, spec.what);
    },
    async stop() {
      signal(spec.pid(), 'SIGCONT');
      await spec.halt();
      running = false;
      await waitPort(spec.port, false, spec.what);
    },
    kill() {
      signal(spec.pid(), 'SIGKILL');
      running = false;
    },
    pause: () => signal(spec.pid(), 'SIGSTOP'),
    resume: () => signal(spec.pid(), 'SIGCONT'),
    async remove() {
      if (running) await service.stop().catch(() => service.kill());
      signal(spec.pid(), 'SIGKILL');
      rmSync(spec.dir, { recursive: true, force: true });
    },
  };
  return service;
}

/** A Redis that keeps nothing on disk: a restart loses every key. */
export async function privateRedis(): Promise<PrivateService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'st-redis-'));
  let child: ChildProcess | undefined;
  return privateService({
    name: 'redis', port, url: `redis://127.0.0.1:${port}/0`, dir, what: 'private Redis', pid: () => child?.pid,
    launch: () => {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    },
    halt: () => signal(child?.pid, 'SIGTERM'),
  });
}

/** A RabbitMQ node of its own (node name, ports, mnesia and logs in a temp dir). */
export async function privateRabbit(): Promise<PrivateService> {
  const [port, dist] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'st-rabbit-'));
  const node = `st${port}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  spawnSync('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
  const pidFile = join(dir, 'pid');
  const env = {
    ...process.env, RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'), RABBITMQ_NODE_PORT: String(port), RABBITMQ_DIST_PORT: String(dist), RABBITMQ_NODENAME: node,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'), RABBITMQ_LOG_BASE: join(dir, 'log'), RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'), RABBITMQ_PID_FILE: pidFile,
  };
  // The broker (beam) runs under su as the rabbitmq user; it writes its own pid here.
  const pid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined);
  return privateService({
    name: 'rabbitmq', port, url: `amqp://guest:guest@127.0.0.1:${port}`, dir, what: 'private RabbitMQ', pid,
    launch: () => {
      rmSync(pidFile, { force: true });
      spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true }).unref();
    },
    halt: () => void spawnSync('rabbitmqctl', ['-n', node, 'stop'], { env, stdio: 'ignore', timeout: 60_000 }),
  });
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A Postgres cluster of its own (initdb in a temp dir, trust auth, database `test`), run as user postgres. */
export async function privatePostgres(): Promise<PrivateService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'st-pg-'));
  const data = join(dir, 'data');
  spawnSync('chown', ['postgres:postgres', dir]);
  const asPostgres = (bin: string, args: string[]) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr || r.stdout}`);
  };
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c max_connections=200`;
  const pid = () => {
    const file = join(data, 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) || undefined : undefined;
  };
  let created = false;
  return privateService({
    name: 'postgres', port, url: `postgres://postgres@127.0.0.1:${port}/test`, dir, what: 'private Postgres', pid,
    launch: async () => {
      asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
      if (created) return;
      await waitPort(port, true, 'private Postgres');
      asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'test']);
      created = true;
    },
    halt: () => asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
  });
}
