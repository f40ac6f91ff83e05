// The whole stack for the chaos suite, each service run directly (not under `dev`, which stops
// everything when one child exits), on PRIVATE Redis, RabbitMQ and Postgres, with the observers
// that count what reaches users: a discord.js bot behind the proxy and a RabbitMQ consumer.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import pino from 'pino';
import { AmqpConnection } from '../../internal/amqp';
import { startTcpRelay, type TcpRelay } from '../../internal/net/tcp-relay';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type PrivateService, privatePostgres, privateRabbit, privateRedis } from '../helpers/private-services';
import { ROOT, type Running, start, startScript } from '../helpers/process';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JOBS_SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';

export async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(fn).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what}`);
    await sleep(250);
  }
}

const getJson = async <T>(url: string, init?: RequestInit): Promise<T> => {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
};

/** One posted event: `c<n>` in a guild's general channel. */
export interface Posted {
  n: number;
  at: number;
  guild: string;
}

export interface CreatedTask {
  id: string;
  at: number;
}

export class ChaosStack {
  redis!: PrivateService;
  rabbit!: PrivateService;
  postgres!: PrivateService;
  sim!: Running;
  proxy!: Running;
  web!: Running;
  jobs: Running[] = [];
  bot!: Running;
  simUrl = '';
  ports = { proxy: 0, web: 0, jobs: [0, 0], iserver: 0 };
  /** What bots connect to, as production puts HAProxy in front: it waits while the proxy restarts. */
  private relay: TcpRelay | undefined;
  configPath = '';
  private objects = '';
  guilds: { id: string; general: string }[] = [];
  posted: Posted[] = [];
  tasks: CreatedTask[] = [];
  /** Event numbers in the order the RabbitMQ consumer first saw them. */
  amqpSeen: number[] = [];
  private amqpSet = new Set<number>();
  /** Event numbers delivered to the consumer again (at least once: it may, the bot may not). */
  amqpRepeats: number[] = [];
  private consumer: AmqpConnection | undefined;
  /** Every cluster pid ever seen: orphans are killed at the end. */
  clusterPids = new Set<number>();
  private loadRunning = false;
  private started: [string, Running][] = [];
  private loops: Promise<void>[] = [];

  async start(): Promise<void> {
    [this.redis, this.rabbit, this.postgres] = await Promise.all([privateRedis(), privateRabbit(), privatePostgres()]);
    await Promise.all([this.redis.start(), this.rabbit.start(), this.postgres.start()]);
    this.sim = this.track('sim', start(['sim', '--port', String(await freePort()), '--shards', '4', '--guilds', '8', '--max-concurrency', '4', '--identify-interval-ms', '0', '--rest-limit', '1000']));
    this.simUrl = (await this.sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const guilds = await getJson<{ id: string; channels: { id: string; name: string }[] }[]>(`${this.simUrl}/_sim/guilds`);
    this.guilds = guilds.map((g) => ({ id: g.id, general: g.channels.find((c) => c.name === 'general')!.id }));
    this.ports = { proxy: await freePort(), web: await freePort(), jobs: [await freePort(), await freePort()], iserver: 20_000 + Math.floor(Math.random() * 20_000) };
    this.relay = await startTcpRelay({ host: '127.0.0.1', backends: [{ host: '127.0.0.1', port: this.ports.proxy }] });
    this.objects = mkdtempSync(join(tmpdir(), 'st-chaos-objects-'));
    this.configPath = writeTestConfig({
      'discord_auth.api_url': `${this.simUrl}/api`, 'sites.cdn': `${this.simUrl}/cdn`,
      'meta.redis_url': this.redis.url, 'meta.amqp_url': this.rabbit.url, 'meta.postgres_url': this.postgres.url,
      'meta.port': this.ports.web, 'meta.jobserver_port': this.ports.jobs[0], 'meta.jobserver_url': `http://127.0.0.1:${this.ports.jobs[0]}`,
      'meta.bot_iserver_base_port': this.ports.iserver,
      'proxy.port': this.ports.proxy, 'proxy.url': `ws://127.0.0.1:${this.relay.port}`, 'proxy.amqp.enabled': true, 'proxy.state.enabled': true,
      'clusterer.ping_interval': 1000, 'clusterer.ping_timeout': 5000, 'clusterer.cluster_start_next_delay': 100,
      'object_storage.path': this.objects, 'jobs.lease_seconds': 5,
    }).path;
    this.proxy = await this.startProxy();
    this.jobs = [await this.startJobs(0), await this.startJobs(1)];
    this.web = await this.startWeb();
    this.bot = this.track('bot', startScript(`${ROOT}/test/fixtures/discordjs-bot.ts`, [`http://127.0.0.1:${this.ports.proxy}/api`]));
    await this.bot.waitFor(/^READY$/, 60_000);
    this.consumer = new AmqpConnection({
      url: this.rabbit.url, logger: pino({ level: 'silent' }),
      onChannel: async (channel) => {
        await channel.assertExchange('gateway', 'topic', { durable: true });
        await channel.assertQueue('chaos.events', { durable: true });
        await channel.bindQueue('chaos.events', 'gateway', 'MESSAGE_CREATE');
        await channel.consume('chaos.events', (msg: ConsumeMessage | null) => {
          if (!msg) return;
          const n = eventNumber((JSON.parse(msg.content.toString()) as { d: { content?: string } }).d.content);
          if (n !== undefined && this.amqpSet.has(n)) this.amqpRepeats.push(n);
          else if (n !== undefined) {
            this.amqpSet.add(n);
            this.amqpSeen.push(n);
          }
          channel.ack(msg);
        });
      },
    });
    void this.consumer.start();
    await waitUntil('the stack is healthy', async () => (await this.unhealthy()) === '', 120_000);
  }

  startProxy(): Promise<Running> {
    const p = this.track('proxy', start(['proxy', '--config', this.configPath]));
    return p.waitFor(/"msg":"proxy listening/, 60_000).then(() => p);
  }

  startJobs(i: number): Promise<Running> {
    const port = String(this.ports.jobs[i]);
    const p = this.track(`jobs-${i}`, start(['jobs', '--config', this.configPath], { env: { SPLASHTAIL__META__JOBSERVER_PORT: port, SPLASHTAIL__META__JOBSERVER_URL: `http://127.0.0.1:${port}` } }));
    return p.waitFor(/jobserver listening/, 60_000).then(() => p);
  }

  startWeb(): Promise<Running> {
    const proxy = `127.0.0.1:${this.ports.proxy}`;
    const p = this.track('webserver', start(['webserver', '--config', this.configPath], { env: { SPLASHTAIL__BOT__GATEWAY_URL: `ws://127.0.0.1:${this.relay!.port}`, SPLASHTAIL__DISCORD_AUTH__API_URL: `http://${proxy}/api` } }));
    return p.waitFor(/listening/, 60_000).then(() => p);
  }

  private track(name: string, p: Running): Running {
    this.started.push([name, p]);
    return p;
  }

  /**
   * Starts again what exited on its own, as systemd's Restart=always would; returns what it
   * restarted (a crash the row reports) so later rows still run on the whole stack.
   */
  async restartCrashed(): Promise<string[]> {
    const gone = (p: Running) => p.child.exitCode !== null || p.child.signalCode !== null;
    const crashed: string[] = [];
    if (gone(this.proxy)) {
      crashed.push(`proxy exited (${this.proxy.child.exitCode})`);
      this.proxy = await this.startProxy();
    }
    if (gone(this.web)) {
      crashed.push(`webserver exited (${this.web.child.exitCode})`);
      this.web = await this.startWeb();
    }
    for (const i of [0, 1]) {
      if (!gone(this.jobs[i]!)) continue;
      crashed.push(`jobs-${i} exited (${this.jobs[i]!.child.exitCode})`);
      this.jobs[i] = await this.startJobs(i);
    }
    return crashed;
  }

  /** Event numbers as the bot behind the proxy received them, in order, repeats included. */
  botReceived(): number[] {
    return this.bot
      .output()
      .split('\n')
      .flatMap((line) => {
        const n = line.startsWith('MSG ') ? eventNumber(line.slice(4)) : undefined;
        return n === undefined ? [] : [n];
      });
  }

  /** Event numbers in the order the bot behind the proxy first saw them. */
  botSeen(): number[] {
    return [...new Set(this.botReceived())];
  }

  /** How each of the bot's shards (re)connected in its output from `offset` on: READY (identified) or RESUMED. */
  botSessions(offset: number): Map<number, ('READY' | 'RESUMED')[]> {
    const sessions = new Map<number, ('READY' | 'RESUMED')[]>();
    for (const line of this.bot.output().slice(offset).split('\n')) {
      const m = /^SESSION (READY|RESUMED) (\d+)$/.exec(line);
      if (m) sessions.set(Number(m[2]), [...(sessions.get(Number(m[2])) ?? []), m[1] as 'READY' | 'RESUMED']);
    }
    return sessions;
  }

  async clusters(): Promise<{ id: number; state: string; pid: number | null }[]> {
    const { clusters } = await getJson<{ clusters: { id: number; state: string; pid: number | null }[] }>(`http://127.0.0.1:${this.ports.web}/clusters`);
    for (const c of clusters) if (c.pid) this.clusterPids.add(c.pid);
    return clusters;
  }

  /**
   * Empty when every service answers, both clusters are up and the newest event reached the bot
   * and the consumer; otherwise what is not healthy yet.
   */
  async unhealthy(): Promise<string> {
    const exited = this.started.filter(([, p]) => [this.proxy, this.web, ...this.jobs, this.bot, this.sim].includes(p) && p.child.exitCode !== null);
    if (exited.length) return exited.map(([name, p]) => `${name} exited (${p.child.exitCode})`).join(', ');
    const shards = await getJson<{ shards: { status: string }[] }>(`http://127.0.0.1:${this.ports.proxy}/shards`).catch((e: Error) => e.message);
    if (typeof shards === 'string') return `proxy: ${shards}`;
    if (shards.shards.length !== 4 || !shards.shards.every((s) => s.status === 'Ready')) return `proxy shards: ${shards.shards.map((s) => s.status).join(', ')}`;
    const clusters = await this.clusters().catch((e: Error) => e.message);
    if (typeof clusters === 'string') return `webserver: ${clusters}`;
    if (clusters.length !== 2 || !clusters.every((c) => c.state === 'up')) return `clusters: ${clusters.map((c) => c.state).join(', ')}`;
    for (const [i, port] of this.ports.jobs.entries()) {
      const problem = await getJson(`http://127.0.0.1:${port}/healthz`).then(() => '', (e: Error) => e.message);
      if (problem) return `jobs-${i}: ${problem}`;
    }
    const probe = this.posted.at(-1);
    if (!probe) return '';
    if (!this.amqpSet.has(probe.n)) return `c${probe.n} not yet at the RabbitMQ consumer`;
    if (!this.botSeen().includes(probe.n)) return `c${probe.n} not yet at the bot`;
    return '';
  }

  /** Steady load: an event every 100 ms, a backup task every 3 s. */
  startLoad(): void {
    this.loadRunning = true;
    this.loops.push(
      (async () => {
        let n = 0;
        while (this.loadRunning) {
          const g = this.guilds[n % this.guilds.length]!;
          const res = await fetch(`${this.simUrl}/_sim/guilds/${g.id}/channels/${g.general}/messages`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: `c${n}` }),
          }).catch(() => undefined);
          if (res?.ok) this.posted.push({ n, at: Date.now(), guild: g.id });
          n++;
          await sleep(100);
        }
      })(),
      (async () => {
        let i = 0;
        while (this.loadRunning) {
          const g = this.guilds[i++ % this.guilds.length]!;
          for (const port of this.ports.jobs) {
            // Created means answered 201: a jobserver that cannot reach Postgres refuses, and that is no loss.
            const res = await fetch(`http://127.0.0.1:${port}/tasks`, {
              method: 'POST', headers: { authorization: `bot ${JOBS_SECRET}`, 'content-type': 'application/json' },
              body: JSON.stringify({ name: 'guild_create_backup', for: g.id, data: { messages_per_channel: 5 } }), signal: AbortSignal.timeout(5_000),
            }).catch(() => undefined);
            if (res?.status === 201) {
              this.tasks.push({ id: ((await res.json()) as { task_id: string }).task_id, at: Date.now() });
              break;
            }
          }
          await sleep(3_000);
        }
      })(),
    );
  }

  async task(id: string): Promise<{ state: string; statuses: { msg: string; level: string }[] } | undefined> {
    for (const port of this.ports.jobs) {
      const t = await getJson<{ state: string; statuses: { msg: string; level: string }[] }>(`http://127.0.0.1:${port}/tasks/${id}`, { headers: { authorization: `bot ${JOBS_SECRET}` } }).catch(() => undefined);
      if (t) return t;
    }
    return undefined;
  }

  /** Writes the output of every process started (killed ones too) to `dir`, for a failed row's story. */
  saveLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.started.forEach(([name, p], i) => writeFileSync(join(dir, `${String(i).padStart(2, '0')}-${name}.log`), p.output()));
  }

  async stop(): Promise<void> {
    this.loadRunning = false;
    await Promise.all(this.loops);
    await this.consumer?.close();
    const running = [this.bot, this.web, ...this.jobs, this.proxy, this.sim].filter(Boolean);
    for (const p of running) p.child.kill('SIGCONT');
    await Promise.all(running.map((p) => p.stop()));
    await this.relay?.close();
    for (const pid of this.clusterPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.all([this.redis, this.rabbit, this.postgres].filter(Boolean).map((s) => s.remove()));
    if (this.objects) rmSync(this.objects, { recursive: true, force: true });
  }
}

function eventNumber(content: string | undefined): number | undefined {
  const m = /^c(\d+)$/.exec(content ?? '');
  return m ? Number(m[1]) : undefined;
}
