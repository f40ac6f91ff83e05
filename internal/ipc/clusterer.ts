// The clusterer (mewld's launcher): launches the cluster processes in order, pings them, restarts
// the silent and the dead, and answers the launcher actions over IPC. Operations on one cluster
// are serialized, and a successor is started only after its predecessor has exited. Liveness
// is judged over each child's process channel, so a Redis outage restarts nothing; restarts after
// deaths go one at a time, each waiting for the previous cluster's launch_next.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActionLog } from './action-log';
import type { IpcBus } from './bus';
import { type ClusterSpec, buildClusterMap } from './cluster-map';
import { ClusterProcess, type SpawnCluster } from './cluster-process';
import { type Incoming, type IpcMessage, LAUNCHER_ACTIONS, type QuarantinedGuild, type ShardDiag, clusterIdArgsSchema } from './messages';

export interface ClustererOptions {
  bus: IpcBus;
  actionLog: ActionLog;
  logger: Logger;
  spawn: SpawnCluster;
  /** The shard count to run (GET /gateway/bot or the fixed count). */
  resolveShardCount: () => Promise<number>;
  perCluster: number;
  names: readonly string[];
  pingIntervalMs: number;
  pingTimeoutMs: number;
  startNextDelayMs: number;
  /** How long a stopping cluster gets after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /** How long a rolling restart (or a restart after a death) waits for one cluster's launch_next. */
  launchTimeoutMs?: number;
  /** Called after the `shutdown` action stopped every cluster. */
  onShutdownRequested?: () => void;
  /** Called after the `restartproc` action stopped every cluster: exit so the service manager restarts us. */
  onRestartRequested?: () => void;
  registry?: Registry;
}

export type ClusterState = 'stopped' | 'starting' | 'up' | 'stopping';

interface Cluster extends ClusterSpec {
  state: ClusterState;
  process?: ClusterProcess;
  startedAt?: number;
  readyAt?: number;
  restarts: number;
  /** Deaths since it was last ready: the backoff of a crash loop. */
  crashes: number;
  /** Why the current process is being killed by us without a stop (a diag timeout). */
  killReason?: string;
  /** Serializes start/stop/restart of this cluster. */
  lock: Promise<unknown>;
  /** Set while we stop it on purpose, so its exit is not treated as a crash. */
  stopping: boolean;
}

export interface ClusterStatus {
  id: number;
  name: string;
  shards: number[];
  state: ClusterState;
  pid: number | null;
  started_at: string | null;
  ready_at: string | null;
  last_answer_at: string | null;
  restarts: number;
  shards_up: number;
  guilds: number;
  users: number;
  diag: ShardDiag[];
  /** Guilds whose events this cluster skips (see bot/event-guard.ts). */
  quarantined: QuarantinedGuild[];
}

/** Until its first diag answer a new process gets at least this long (loading the bundle takes over 10 s on a loaded machine). */
const STARTUP_ALLOWANCE_MS = 30_000;

export class Clusterer {
  private clusters: Cluster[] = [];
  private shardCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastPingAt = new Map<number, number>();
  /** Restarts after deaths, one at a time. */
  private deathRestarts: Promise<void> = Promise.resolve();
  private readonly launchWaiters = new Map<number, Set<() => void>>();
  private shuttingDown = false;
  private rolling: Promise<void> | undefined;
  /** A rolling restart of every cluster asked for while one runs (reshard): runs right after it. */
  private rollingAgain: string | undefined;
  private launching: Promise<void> | undefined;
  private readonly metrics;

  constructor(private readonly options: ClustererOptions) {
    const registers = options.registry ? [options.registry] : [];
    const clusters = () => this.clusters;
    this.metrics = {
      restarts: new Counter({ name: 'splashtail_cluster_restarts_total', help: 'Cluster restarts by reason', labelNames: ['reason'], registers }),
      up: new Gauge({
        name: 'splashtail_clusters_up',
        help: 'Clusters whose shards are all ready',
        registers,
        collect() {
          this.set(clusters().filter((c) => c.state === 'up').length);
        },
      }),
      invalid: new Counter({ name: 'splashtail_ipc_invalid_messages_total', help: 'IPC messages rejected by validation', registers }),
      unsent: new Counter({ name: 'splashtail_ipc_unsent_total', help: 'IPC publishes and action-log writes that failed (Redis down)', registers }),
    };
  }

  get log(): ActionLog {
    return this.options.actionLog;
  }

  /** Resolves the cluster map, subscribes, and starts launching (in the background). */
  async start(): Promise<void> {
    this.shardCount = await this.options.resolveShardCount();
    this.clusters = buildClusterMap(this.shardCount, this.options.perCluster, this.options.names).map((spec) => this.newCluster(spec));
    this.options.logger.info(
      { shard_count: this.shardCount, clusters: this.clusters.map((c) => ({ id: c.id, name: c.name, shards: c.shards })) },
      'cluster map',
    );
    this.options.bus.onMessage((incoming) => this.onIncoming(incoming));
    await this.options.bus.start();
    const tick = Math.max(50, Math.min(this.options.pingIntervalMs, 1_000));
    this.timer = setInterval(() => this.healthTick(), tick);
    this.launching = this.launchAll().catch((err: Error) => this.options.logger.error({ err }, 'launch failed'));
  }

  statuses(): ClusterStatus[] {
    return this.clusters.map((c) => {
      const diag = c.process?.lastDiag?.data ?? [];
      return {
        id: c.id,
        name: c.name,
        shards: [...c.shards],
        state: c.state,
        pid: c.process?.alive ? (c.process.pid ?? null) : null,
        started_at: iso(c.startedAt),
        ready_at: iso(c.readyAt),
        last_answer_at: iso(c.process?.lastAnswerAt),
        restarts: c.restarts,
        shards_up: diag.filter((s) => s.up).length,
        guilds: diag.reduce((n, s) => n + s.guilds, 0),
        users: diag.reduce((n, s) => n + s.users, 0),
        diag,
        quarantined: c.process?.lastDiag?.quarantined ?? [],
      };
    });
  }

  get totalShards(): number {
    return this.shardCount;
  }

  /** Stops every cluster (SIGTERM, then SIGKILL after the grace) and the health checks. */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.clusters.map((c) => this.stopCluster(c, 'shutdown')));
  }

  // ---- launching -------------------------------------------------------------------------

  private newCluster(spec: ClusterSpec): Cluster {
    return { ...spec, state: 'stopped', restarts: 0, crashes: 0, lock: Promise.resolve(), stopping: false };
  }

  private async launchAll(): Promise<void> {
    for (const cluster of this.clusters) {
      if (this.shuttingDown) return;
      await this.startCluster(cluster, 'launch');
      await this.waitLaunchNext(cluster.id);
      if (cluster.id < this.clusters.length - 1) await sleep(this.options.startNextDelayMs);
    }
    if (this.shuttingDown) return;
    await this.options.bus
      .publish({ scope: 'bot', action: 'all_clusters_launched' })
      .catch((err: Error) => this.unsent(err, 'all_clusters_launched not published'));
    this.record({ action: 'all_clusters_launched', clusters: this.clusters.length, shard_count: this.shardCount });
    this.options.logger.info({ clusters: this.clusters.length }, 'all clusters launched');
  }

  private waitLaunchNext(id: number, timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.launchWaiters.get(id);
      if (!set) this.launchWaiters.set(id, (set = new Set()));
      const timer = timeoutMs ? setTimeout(() => done(false), timeoutMs) : undefined;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        set.delete(waiter);
        resolve(ok);
      };
      const waiter = () => done(true);
      set.add(waiter);
    });
  }

  private serialized<T>(cluster: Cluster, fn: () => Promise<T>): Promise<T> {
    const run = cluster.lock.then(fn, fn);
    cluster.lock = run.catch(() => {});
    return run;
  }

  private startCluster(cluster: Cluster, reason: string): Promise<void> {
    return this.serialized(cluster, async () => {
      if (this.shuttingDown || cluster.process?.alive) return;
      const child = this.options.spawn({
        cluster,
        shardCount: this.shardCount,
        clusterCount: this.clusters.length,
        channel: this.options.bus.channel,
      });
      const proc: ClusterProcess = new ClusterProcess(child, cluster.id, {
        onMessage: (message) => this.onChildMessage(cluster, proc, message),
        onInvalid: (error) => this.invalid(error),
      });
      child.on('error', (err) => this.options.logger.error({ err, cluster_id: cluster.id }, 'cluster process error'));
      cluster.process = proc;
      cluster.state = 'starting';
      cluster.startedAt = Date.now();
      cluster.readyAt = undefined;
      cluster.killReason = undefined;
      cluster.stopping = false;
      this.options.logger.info({ cluster_id: cluster.id, name: cluster.name, shards: cluster.shards, pid: proc.pid, reason }, 'cluster started');
      this.record({ action: 'start', cluster_id: cluster.id, reason, pid: proc.pid });
      void proc.exited.then(({ code, signal }) => this.onExit(cluster, proc, code, signal));
    });
  }

  private stopCluster(cluster: Cluster, reason: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.serialized(cluster, async () => this.stopNow(cluster, reason, signal));
  }

  /** Stops without taking the lock (for use inside a serialized operation). */
  private async stopNow(cluster: Cluster, reason: string, signal: NodeJS.Signals): Promise<void> {
    const proc = cluster.process;
    if (!proc?.alive) {
      cluster.state = 'stopped';
      return;
    }
    cluster.stopping = true;
    cluster.state = 'stopping';
    this.options.logger.info({ cluster_id: cluster.id, pid: proc.pid, reason, signal }, 'stopping cluster');
    await proc.stop(signal, this.options.stopGraceMs ?? 10_000);
    cluster.state = 'stopped';
    if (!this.shuttingDown) this.record({ action: 'stop', cluster_id: cluster.id, reason, pid: proc.pid });
  }

  /** Stop (waiting for the exit), then start: never two processes on the same shards. */
  private restartCluster(cluster: Cluster, reason: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.metrics.restarts.inc({ reason });
    cluster.restarts++;
    return this.serialized(cluster, async () => {
      await this.stopNow(cluster, reason, signal);
      if (this.shuttingDown) return;
      this.record({ action: 'restart', cluster_id: cluster.id, reason });
    }).then(() => this.startCluster(cluster, reason));
  }

  private onExit(cluster: Cluster, proc: ClusterProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (cluster.process !== proc) return;
    cluster.state = 'stopped';
    if (cluster.stopping || this.shuttingDown) return;
    const reason = cluster.killReason ?? 'process exited';
    // Back off a crash loop a little: 0.5 s, 1 s, ... up to 10 s.
    const delay = Math.min(500 * 2 ** Math.min(cluster.crashes, 5), 10_000);
    cluster.crashes++;
    this.options.logger.warn({ cluster_id: cluster.id, pid: proc.pid, code, signal, reason, restart_in_ms: delay }, 'cluster process exited; restarting it');
    this.record({ action: 'exited', cluster_id: cluster.id, code, signal, reason, restart_in_ms: delay });
    setTimeout(() => this.queueRestart(cluster, proc, reason), delay).unref();
  }

  /** Dead clusters restart one at a time: the next starts after this one's launch_next (or timeout). */
  private queueRestart(cluster: Cluster, dead: ClusterProcess, reason: string): void {
    this.deathRestarts = this.deathRestarts
      .then(async () => {
        if (this.shuttingDown || cluster.process !== dead) return;
        await this.restartCluster(cluster, reason);
        const next = cluster.process;
        if (!next || next === dead) return;
        await Promise.race([this.waitLaunchNext(cluster.id, this.options.launchTimeoutMs ?? 120_000), next.exited]);
        await sleep(this.options.startNextDelayMs);
      })
      .catch((err: Error) => this.options.logger.error({ err, cluster_id: cluster.id }, 'restart after exit failed'));
  }

  // ---- health ----------------------------------------------------------------------------

  private healthTick(): void {
    const now = Date.now();
    for (const cluster of this.clusters) {
      const proc = cluster.process;
      if (!proc?.alive || cluster.stopping || (cluster.state !== 'starting' && cluster.state !== 'up')) continue;
      const since = proc.lastAnswerAt ?? proc.startedAt;
      const allowed = proc.lastAnswerAt ? this.options.pingTimeoutMs : Math.max(this.options.pingTimeoutMs, STARTUP_ALLOWANCE_MS);
      if (now - since > allowed) {
        this.options.logger.warn({ cluster_id: cluster.id, pid: proc.pid, silent_ms: now - since }, 'cluster did not answer diag in time; killing it');
        this.record({ action: 'diag_timeout', cluster_id: cluster.id, pid: proc.pid, silent_ms: now - since });
        // Stuck (or SIGSTOPped): it may not handle SIGTERM. Its exit restarts it like any death.
        cluster.killReason = 'diag timeout';
        cluster.state = 'stopping';
        proc.child.kill('SIGKILL');
        continue;
      }
      if (now - (this.lastPingAt.get(cluster.id) ?? 0) >= this.options.pingIntervalMs) {
        this.lastPingAt.set(cluster.id, now);
        proc.ping();
      }
    }
  }

  /** launch_next from a cluster's own process channel (or, for mewld compatibility, over Redis). */
  private onLaunchNext(cluster: Cluster): void {
    if (cluster.process?.alive && !cluster.stopping) {
      cluster.state = 'up';
      cluster.readyAt = Date.now();
      cluster.crashes = 0;
    }
    this.options.logger.info({ cluster_id: cluster.id }, 'cluster ready (launch_next)');
    for (const waiter of [...(this.launchWaiters.get(cluster.id) ?? [])]) waiter();
  }

  private onChildMessage(cluster: Cluster, proc: ClusterProcess, message: IpcMessage): void {
    if (cluster.process !== proc) return;
    if (message.scope === 'launcher' && message.action === 'launch_next') this.onLaunchNext(cluster);
    else this.invalid(`process channel: unexpected ${message.scope}/${message.action}`);
  }

  private invalid(error: string): void {
    this.metrics.invalid.inc();
    this.options.logger.warn({ error }, 'invalid IPC message ignored');
  }

  // ---- IPC -------------------------------------------------------------------------------

  private onIncoming(incoming: Incoming): void {
    if (incoming.kind === 'invalid') {
      this.invalid(incoming.error);
      // Every request with a command_id gets one reply, an invalid one too; replies (scope "bot") never.
      if (incoming.command_id && incoming.scope !== 'bot') {
        const request = { command_id: incoming.command_id, action: incoming.action ?? 'invalid' };
        this.options.bus
          .reply(request, { error: `invalid IPC message: ${incoming.error}` })
          .catch((err: Error) => this.unsent(err, 'IPC reply not sent'));
      }
      return;
    }
    const message = incoming.message;
    if (message.scope === 'bot') return;
    if (message.scope !== 'launcher') {
      this.options.bus
        .reply(message, { error: `unknown scope "${message.scope}": the clusterer answers scope "launcher"` })
        .catch((err: Error) => this.unsent(err, 'IPC reply not sent'));
      return;
    }
    void this.handleAction(message).then(
      (output) => this.options.bus.reply(message, output),
      (err: Error) => {
        this.options.logger.warn({ err: err.message, action: message.action }, 'IPC action failed');
        return this.options.bus.reply(message, { error: err.message });
      },
    ).catch((err: Error) => this.unsent(err, 'IPC reply not sent'));
  }

  private clusterFromArgs(message: IpcMessage): Cluster {
    const parsed = clusterIdArgsSchema.safeParse(message.args ?? {});
    if (!parsed.success) throw new Error(`${message.action}: args.id must be a cluster id (integer >= 0)`);
    const cluster = this.clusters[parsed.data.id];
    if (!cluster) throw new Error(`${message.action}: no cluster ${parsed.data.id} (there are ${this.clusters.length})`);
    return cluster;
  }

  private async handleAction(message: IpcMessage): Promise<unknown> {
    const action = message.action as (typeof LAUNCHER_ACTIONS)[number];
    if (!LAUNCHER_ACTIONS.includes(action)) throw new Error(`unknown action "${message.action}"`);
    switch (action) {
      case 'launch_next':
        this.onLaunchNext(this.clusterFromArgs(message));
        return { ok: true };
      case 'statuses':
        return this.statuses();
      case 'num_processes':
        return this.clusters.length;
      case 'diag':
        return Object.fromEntries(this.clusters.map((c) => [c.id, c.process?.lastDiag?.data ?? []]));
      case 'action_logs':
        return this.options.actionLog.list();
      case 'start': {
        const cluster = this.clusterFromArgs(message);
        await this.startCluster(cluster, 'ipc start');
        return { ok: true, id: cluster.id };
      }
      case 'stop': {
        const cluster = this.clusterFromArgs(message);
        await this.stopCluster(cluster, 'ipc stop');
        return { ok: true, id: cluster.id };
      }
      case 'restart': {
        const cluster = this.clusterFromArgs(message);
        await this.restartCluster(cluster, 'ipc restart');
        return { ok: true, id: cluster.id };
      }
      case 'rollingrestart':
        if (!this.requestRollingRestart('ipc rollingrestart')) return { ok: false, error: 'a rolling restart is already running' };
        return { ok: true, started: true, clusters: this.clusters.length };
      case 'restartproc':
        // mewld: the launcher process itself restarts, through its service manager (exit non-zero).
        this.record({ action: 'restartproc' });
        await this.stop();
        setImmediate(() => this.options.onRestartRequested?.());
        return { ok: true, exiting: true };
      case 'reshard':
        return this.reshard();
      case 'shutdown':
        this.record({ action: 'shutdown' });
        await this.stop();
        setImmediate(() => this.options.onShutdownRequested?.());
        return { ok: true };
    }
  }

  /**
   * Starts a rolling restart of every cluster in the background. While one runs, false; or, with
   * `evenIfRunning` (a reshard: clusters already restarted carry the old shard count), it runs
   * again over every cluster once the current one ends.
   */
  requestRollingRestart(reason: string, { evenIfRunning = false } = {}): boolean {
    if (this.shuttingDown) return false;
    if (this.rolling) {
      if (!evenIfRunning) return false;
      this.rollingAgain = reason;
      this.record({ action: 'rollingrestart_queued', reason });
      return true;
    }
    this.rolling = (async () => {
      for (let next: string | undefined = reason; next !== undefined; next = this.rollingAgain) {
        this.rollingAgain = undefined;
        await this.rollingRestart(next, this.clusters);
      }
    })()
      .catch((err: Error) => this.options.logger.error({ err }, 'rolling restart failed'))
      .finally(() => (this.rolling = undefined));
    return true;
  }

  /** One cluster at a time: stop (and wait for the exit), start, wait for its launch_next. */
  private async rollingRestart(reason: string, clusters: Cluster[]): Promise<void> {
    this.record({ action: 'rollingrestart_begin', reason, clusters: clusters.map((c) => c.id) });
    for (const cluster of clusters) {
      if (this.shuttingDown) return;
      await this.serialized(cluster, () => this.stopNow(cluster, reason, 'SIGTERM'));
      await this.startCluster(cluster, reason);
      const ok = await this.waitLaunchNext(cluster.id, this.options.launchTimeoutMs ?? 120_000);
      this.record({ action: 'rollingrestart_cluster', cluster_id: cluster.id, ready: ok });
      await sleep(this.options.startNextDelayMs);
    }
    this.record({ action: 'rollingrestart_end', reason });
  }

  /** Re-queries the shard count; never shrinks; a new count restarts every cluster (each IDENTIFY carries it). */
  private async reshard(): Promise<unknown> {
    const count = await this.options.resolveShardCount();
    if (count <= this.shardCount) return { resharded: false, shard_count: this.shardCount, recommended: count };
    const old = this.shardCount;
    const map = buildClusterMap(count, this.options.perCluster, this.options.names);
    this.shardCount = count;
    for (const spec of map) {
      const existing = this.clusters[spec.id];
      if (existing) existing.shards = spec.shards;
      else this.clusters.push(this.newCluster(spec));
    }
    this.record({ action: 'reshard', from: old, to: count, restarting: this.clusters.map((c) => c.id) });
    this.requestRollingRestart('reshard', { evenIfRunning: true });
    return { resharded: true, shard_count: count, previous: old, clusters: this.clusters.length };
  }

  /** Writes to the action log in the background: a Redis outage never blocks or delays an action. */
  private record(entry: Parameters<ActionLog['add']>[0]): void {
    this.options.actionLog.add(entry).catch((err: Error) => this.unsent(err, 'action log write failed'));
  }

  private unsent(err: Error, what: string): void {
    this.metrics.unsent.inc();
    this.options.logger.warn({ err: err.message }, what);
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
