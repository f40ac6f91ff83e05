// One bot cluster's OS process: spawn it, know when it exits, stop it and wait for the exit, and
// judge its liveness. Waiting for the exit before starting a successor is what keeps two processes
// off one shard. Liveness pings go over Node's process channel (the clusterer is the parent), not
// Redis: a Redis outage must not look like a dead cluster.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ClusterSpec } from './cluster-map';
import { type DiagReply, type IpcMessage, describe, ipcMessageSchema, parseDiagReply } from './messages';

export interface SpawnArgs {
  cluster: ClusterSpec;
  shardCount: number;
  clusterCount: number;
  channel: string;
}

/** Must give the child a process channel (`stdio` with 'ipc'). */
export type SpawnCluster = (args: SpawnArgs) => ChildProcess;

export interface ExecutableSpawnOptions {
  configPath: string;
  env?: string;
  /** Log level of the children (default: inherited LOG_LEVEL). */
  extraEnv?: NodeJS.ProcessEnv;
}

/**
 * Spawns `splashtail bot --cluster <id> ...` with the running executable (process.argv[1]) under
 * the running Node (process.execPath), so it works wherever ./splashtail was started from, and
 * with Node's arguments (as fork does): those of the executable's #! line have Node read only
 * its head, not all of it.
 */
export function executableSpawner(options: ExecutableSpawnOptions): SpawnCluster {
  return ({ cluster, shardCount, clusterCount, channel }) =>
    spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1]!,
        'bot',
        '--config',
        options.configPath,
        ...(options.env ? ['--env', options.env] : []),
        '--cluster',
        String(cluster.id),
        '--shards',
        cluster.shards.join(','),
        '--shard-count',
        String(shardCount),
        '--cluster-name',
        cluster.name,
        '--cluster-count',
        String(clusterCount),
        '--redis-channel',
        channel,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...options.extraEnv } },
    );
}

export interface ClusterProcessEvents {
  /** A valid message other than a diag answer (launch_next). */
  onMessage?: (message: IpcMessage) => void;
  /** A message from the child that failed validation. */
  onInvalid?: (error: string) => void;
}

export class ClusterProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly startedAt = Date.now();
  /** When the child last answered a ping (undefined until its first answer). */
  lastAnswerAt: number | undefined;
  lastDiag: DiagReply | undefined;
  private done = false;

  constructor(
    readonly child: ChildProcess,
    readonly clusterId: number,
    events: ClusterProcessEvents = {},
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
      // A failed spawn emits 'error' and maybe no 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) {
          this.done = true;
          resolve({ code: null, signal: null });
        }
      });
    });
    child.on('message', (value: unknown) => this.receive(value, events));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.done;
  }

  /** Sends a diag ping; the answer updates lastAnswerAt and lastDiag. */
  ping(): void {
    if (this.child.connected) this.child.send({ id: this.clusterId, nonce: randomUUID(), diag: true }, () => {});
  }

  private receive(value: unknown, events: ClusterProcessEvents): void {
    const parsed = ipcMessageSchema.safeParse(value);
    if (!parsed.success) return events.onInvalid?.(`process channel: ${describe(parsed.error)}`);
    const message = parsed.data;
    if (message.scope === 'launcher' && message.action === 'diag') {
      const reply = parseDiagReply(message.output);
      if ('error' in reply) return events.onInvalid?.(reply.error);
      // The channel is this child's alone: any answer (to any of our pings) is its own.
      if (reply.id !== undefined && reply.id !== this.clusterId) return;
      this.lastAnswerAt = Date.now();
      this.lastDiag = reply;
      return;
    }
    events.onMessage?.(message);
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (this.done) return;
    this.child.kill(signal);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
  }
}
