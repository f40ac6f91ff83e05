// One bot cluster's OS process: spawn it, know when it exits, stop it and wait for the exit.
// Waiting for the exit before starting a successor is what keeps two processes off one shard.
import { type ChildProcess, spawn } from 'node:child_process';
import type { ClusterSpec } from './cluster-map';

export interface SpawnArgs {
  cluster: ClusterSpec;
  shardCount: number;
  clusterCount: number;
  channel: string;
}

export type SpawnCluster = (args: SpawnArgs) => ChildProcess;

export interface ExecutableSpawnOptions {
  configPath: string;
  env?: string;
  /** Log level of the children (default: inherited LOG_LEVEL). */
  extraEnv?: NodeJS.ProcessEnv;
}

/**
 * Spawns `splashtail bot --cluster <id> ...` with the running executable (process.argv[1]) under
 * the running Node (process.execPath), so it works wherever ./splashtail was started from.
 */
export function executableSpawner(options: ExecutableSpawnOptions): SpawnCluster {
  return ({ cluster, shardCount, clusterCount, channel }) =>
    spawn(
      process.execPath,
      [
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
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, ...options.extraEnv, SPLASHTAIL_PARENT_PID: String(process.pid) },
      },
    );
}

export class ClusterProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(readonly child: ChildProcess) {
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
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.done;
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
