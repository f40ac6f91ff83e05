// A multi-node proxy deployment for tests: one `./splashtail sim`, any number of
// `./splashtail proxy` nodes with `shards: auto` sharing a unique Redis prefix, and readers of
// what they and the sim report (GET /shards, GET /nodes, GET /_sim/shards/:id/connections).
import { Redis } from 'ioredis';
import { writeTestConfig } from './config';
import { freePort } from './ports';
import { type Running, start } from './process';
import { REDIS_URL, uniqueName } from './services';

export interface SimConnection {
  session_id: string;
  started: 'IDENTIFY' | 'RESUME';
  opened_at: string;
  closed_at: string | null;
  close_code: number | null;
}

export interface ShardRow {
  shard: number;
  status: string;
  node: string | null;
  epoch: number | null;
  seq: number | null;
  identifies: number;
  resumes: number;
}

export interface ProxyNode {
  name: string;
  url: string;
  proc: Running;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 200 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, debug: () => string = () => ''): Promise<number> {
  const started = Date.now();
  while (!(await Promise.resolve().then(fn).catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}\n${debug()}`);
    await sleep(200);
  }
  return Date.now() - started;
}

export interface DeploymentOptions {
  shards: number;
  maxConcurrency: number;
  /** The sim's identify interval; the nodes are told the same. */
  identifyIntervalMs: number;
  leaseSeconds: number;
  guilds?: number;
  rate?: number;
  /** More config changes for every node (dotted paths). */
  config?: Record<string, unknown>;
}

export class Deployment {
  readonly prefix = `${uniqueName('st_nodes')}:`;
  readonly nodes = new Map<string, ProxyNode>();
  simUrl = '';
  private sim: Running | undefined;

  constructor(readonly o: DeploymentOptions) {}

  async startSim(): Promise<void> {
    const port = await freePort();
    const args = ['sim', '--port', String(port), '--shards', String(this.o.shards), '--guilds', String(this.o.guilds ?? this.o.shards * 2), '--max-concurrency', String(this.o.maxConcurrency), '--identify-interval-ms', String(this.o.identifyIntervalMs), '--seed', '11'];
    if (this.o.rate) args.push('--rate', String(this.o.rate));
    this.sim = start(args);
    this.simUrl = (await this.sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
  }

  /** Starts a node; resolves once it listens (it takes shards later, from the coordinator). */
  async startNode(name: string): Promise<ProxyNode> {
    const port = await freePort();
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${this.simUrl}/api`, 'proxy.port': port, 'proxy.session_key_prefix': this.prefix, 'proxy.shards': 'auto',
      'proxy.node_name': name, 'proxy.lease_seconds': this.o.leaseSeconds, 'proxy.identify_interval_ms': this.o.identifyIntervalMs, ...this.o.config,
    });
    const proc = start(['proxy', '--config', path]);
    await proc.waitFor(/"msg":"proxy listening/);
    const node = { name, url: `http://127.0.0.1:${port}`, proc };
    this.nodes.set(name, node);
    return node;
  }

  async shards(via: ProxyNode): Promise<ShardRow[]> {
    return ((await (await fetch(`${via.url}/shards`)).json()) as { shards: ShardRow[] }).shards;
  }

  async nodeList(via: ProxyNode): Promise<{ nodes: { name: string; url: string; shards: number[]; last_seen: string }[]; coordinator: string | null }> {
    return (await (await fetch(`${via.url}/nodes`)).json()) as never;
  }

  /** True once every shard is Ready and owned by one of `owners`. */
  async allReadyOn(via: ProxyNode, owners: string[]): Promise<boolean> {
    const rows = await this.shards(via);
    return rows.length === this.o.shards && rows.every((r) => r.status === 'Ready' && r.node !== null && owners.includes(r.node));
  }

  async connections(shard: number): Promise<{ connections: SimConnection[]; identifies_refused: number }> {
    return (await (await fetch(`${this.simUrl}/_sim/shards/${shard}/connections`)).json()) as never;
  }

  async allConnections(): Promise<{ shard: number; connections: SimConnection[]; identifies_refused: number }[]> {
    return Promise.all(Array.from({ length: this.o.shards }, async (_, shard) => ({ shard, ...(await this.connections(shard)) })));
  }

  output(): string {
    return [...this.nodes.values()].map((n) => `--- ${n.name}:\n${n.proc.output().slice(-2500)}`).join('\n');
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      if (node.proc.child.signalCode === null && node.proc.child.exitCode === null) node.proc.child.kill('SIGCONT');
      await node.proc.stop('SIGKILL');
    }
    await this.sim?.stop('SIGKILL');
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${this.prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}

/** Pairs of connections on one session that were live at the same time (none may be). */
export function overlaps(connections: SimConnection[]): [SimConnection, SimConnection][] {
  const found: [SimConnection, SimConnection][] = [];
  const end = (c: SimConnection) => (c.closed_at ? Date.parse(c.closed_at) : Infinity);
  for (const [i, a] of connections.entries()) {
    for (const b of connections.slice(i + 1)) {
      if (a.session_id === b.session_id && Date.parse(a.opened_at) < end(b) && Date.parse(b.opened_at) < end(a)) found.push([a, b]);
    }
  }
  return found;
}
