// A private RabbitMQ node on its own ports, for tests that stop and start the broker
// (the shared one on 5672 is never touched).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface PrivateRabbit {
  url: string;
  start(): Promise<void>;
  stop(): void;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

export async function privateRabbit(): Promise<PrivateRabbit> {
  const [port, dist] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'st-rabbit-'));
  const node = `st${port}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  spawnSync('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
  const env = {
    ...process.env, RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'), RABBITMQ_NODE_PORT: String(port), RABBITMQ_DIST_PORT: String(dist), RABBITMQ_NODENAME: node,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'), RABBITMQ_LOG_BASE: join(dir, 'log'), RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'), RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    async start() {
      spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true }).unref();
      const deadline = Date.now() + 60_000;
      while (!(await listening(port))) {
        if (Date.now() > deadline) throw new Error(`private RabbitMQ on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop() {
      spawnSync('rabbitmqctl', ['-n', node, 'stop'], { env, stdio: 'ignore', timeout: 30_000 });
    },
  };
}
