// Runs claimed tasks: up to `concurrency` at once, each under a lease renewed while it runs.
// Fencing works on both sides of the lease, because Postgres cannot stop a Discord call already
// queued or in flight: every write of a running task is conditional on the lease and a refused
// write stops the task; and each task's Discord client checks the lease on the monotonic clock
// right before it sends a mutation, so a jobserver that wakes from a pause past its lease sends
// nothing more. A take-over waits the lease plus the REST timeout (see TaskRepository.claim).
// On shutdown running tasks stop at their next checkpoint and are handed back.
import { performance } from 'node:perf_hooks';
import { DefaultRestOptions, REST } from '@discordjs/rest';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../internal/db/unavailable';
import { LeaseLost, LocalLease, StopTask } from './lease';
import type { Task, TaskOutput, TaskRepository } from './repository';
import type { ObjectStorage } from './storage';

export { StopTask } from './lease';

export interface TaskContext {
  task: Task;
  /** The guild id of `g/<id>` tasks. */
  guildId: string;
  /** Discord REST for this task only: a mutation throws LeaseLost once the lease is gone. */
  rest: REST;
  storage: ObjectStorage;
  /** Base URL of Discord's CDN (guild images), e.g. https://cdn.discordapp.com. */
  cdn: string;
  /** What earlier attempts saved; the handler continues from it. */
  checkpoint: Record<string, unknown>;
  /** Throws LeaseLost when Postgres refuses the write (the task is no longer ours). */
  saveCheckpoint(checkpoint: Record<string, unknown>): Promise<void>;
  status(msg: string, extra?: Record<string, unknown>): Promise<void>;
  /** Aborted when the lease is lost or the jobserver stops: return at the next checkpoint. */
  signal: AbortSignal;
  outputOf(taskId: string): Promise<Buffer>;
}

export interface TaskResult {
  msg: string;
  output?: TaskOutput;
}

export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;

export interface RunnerOptions {
  repo: TaskRepository;
  handlers: Record<string, TaskHandler>;
  workerId: string;
  concurrency: number;
  leaseSeconds: number;
  pollMs?: number;
  /** Discord REST settings; every task gets its own client so its mutations are fenced by its lease. */
  discord: { api?: string; token: string; timeoutSeconds: number };
  storage: ObjectStorage;
  cdn?: string;
  logger: Logger;
  onFinished?: (task: Task, state: 'completed' | 'failed', ms: number) => void;
}

export class Runner {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: RunnerOptions) {}

  start(): void {
    this.loop = this.claimLoop();
  }

  /** Claims now instead of at the next poll (a task was just created or executed). */
  poke(): void {
    this.wake?.();
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      let claimed = false;
      if (this.running.size < this.o.concurrency) {
        try {
          const claimedAt = performance.now();
          const task = await this.o.repo.claim(this.o.workerId, this.o.leaseSeconds, this.o.discord.timeoutSeconds);
          if (task) {
            claimed = true;
            this.launch(task, claimedAt);
          }
        } catch (err) {
          this.o.logger.warn({ err: (err as Error).message }, 'claiming a task failed');
        }
      }
      if (!claimed) await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, this.o.pollMs ?? 1_000).unref();
      });
    }
  }

  private launch(task: Task, claimedAt: number): void {
    const { logger, leaseSeconds } = this.o;
    const leaseMs = leaseSeconds * 1000;
    const lease = new LocalLease(leaseMs, leaseMs / 5, claimedAt);
    const controller = new AbortController();
    const started = Date.now();
    /** Stops the task for good, logging why once. */
    const lost = (reason: string): LeaseLost => {
      const error = new LeaseLost(`lost the lease: ${reason}`);
      lease.lose(reason);
      if (!controller.signal.aborted) {
        logger.warn({ task_id: task.task_id, reason }, 'lost the lease on a task; stopping it');
        controller.abort(error);
      }
      return error;
    };
    const renew = setInterval(() => {
      const expired = lease.check();
      if (expired) return void lost(expired);
      const sentAt = performance.now();
      this.o.repo.renew(task.task_id, this.o.workerId, leaseSeconds).then(
        (held) => (held ? lease.renewed(sentAt) : lost('Postgres refused the renewal (taken over, cancelled or expired)')),
        (err: Error) => logger.warn({ task_id: task.task_id, err: err.message }, 'renewing a lease failed; the task stops unless a renewal succeeds in time'),
      );
    }, leaseMs / 3);
    const done = this.execute(task, controller.signal, lease, lost)
      .then(async (result) => {
        if (!result) return;
        if (!(await this.o.repo.finish(task.task_id, this.o.workerId, result.state, result.msg, result.output))) {
          lost('Postgres refused to finish the task');
          return;
        }
        this.o.onFinished?.(task, result.state, Date.now() - started);
      })
      .catch((err) => logger.error({ err: (err as Error).message, task_id: task.task_id }, 'finishing a task failed; it will be resumed once its lease runs out'))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(task.task_id);
        this.poke();
      });
    this.running.set(task.task_id, { controller, done });
  }

  /** A Discord client whose mutations are sent only while the lease holds (checked at send time, after any rate-limit wait). */
  private restFor(lease: LocalLease, lost: (reason: string) => LeaseLost): REST {
    const { api, token, timeoutSeconds } = this.o.discord;
    return new REST({
      ...(api ? { api } : {}),
      timeout: timeoutSeconds * 1000,
      hashSweepInterval: 0,
      handlerSweepInterval: 0,
      makeRequest: (url, init) => {
        const reason = (init.method ?? 'GET').toUpperCase() === 'GET' ? undefined : lease.check();
        if (reason) return Promise.reject(lost(reason));
        return DefaultRestOptions.makeRequest(url, init);
      },
    }).setToken(token);
  }

  private async execute(task: Task, signal: AbortSignal, lease: LocalLease, lost: (reason: string) => LeaseLost): Promise<{ state: 'completed' | 'failed'; msg: string; output?: TaskResult['output'] } | undefined> {
    const handler = this.o.handlers[task.task_name];
    if (!handler) return { state: 'failed', msg: `unknown task name "${task.task_name}"` };
    const { repo, workerId } = this.o;
    /** A write of the running task: refused (or a lease already gone) stops the task. */
    const fenced = async (write: () => Promise<boolean>) => {
      const expired = lease.check();
      if (expired) throw lost(expired);
      if (!(await write())) throw lost('Postgres refused a write (taken over, cancelled or expired)');
    };
    const ctx: TaskContext = {
      task,
      guildId: task.task_for.replace(/^g\//, ''),
      rest: this.restFor(lease, lost),
      storage: this.o.storage,
      cdn: this.o.cdn ?? 'https://cdn.discordapp.com',
      checkpoint: task.checkpoint ?? {},
      saveCheckpoint: async (next) => {
        await fenced(() => repo.saveCheckpoint(task.task_id, workerId, next));
        if (signal.aborted) throw signal.reason;
      },
      status: (msg, extra) => fenced(() => repo.status(task.task_id, workerId, { level: 'info', msg, ...extra })),
      signal,
      outputOf: async (taskId) => {
        const other = await repo.get(taskId);
        if (!other?.output) throw new Error(`task ${taskId} has no output`);
        return this.o.storage.get(other.output.filename);
      },
    };
    try {
      const result = await handler(ctx);
      return { state: 'completed', msg: result.msg, output: result.output };
    } catch (err) {
      if (err instanceof StopTask || signal.aborted) {
        this.o.logger.info({ task_id: task.task_id, reason: String(signal.reason?.message ?? (err as Error).message) }, 'task stopped; it resumes from its checkpoint');
        return undefined;
      }
      if (isDatabaseUnavailable(err)) {
        // Not the task's fault: leave it running; once its lease runs out it is taken over from its checkpoint.
        this.o.logger.warn({ task_id: task.task_id, err: (err as Error).message }, 'Postgres is unavailable; the task stops and resumes from its checkpoint later');
        return undefined;
      }
      const message = (err as Error).message;
      this.o.logger.warn({ task_id: task.task_id, err: message }, 'task failed');
      return { state: 'failed', msg: `failed: ${message}` };
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.poke();
    await this.loop;
    for (const { controller } of this.running.values()) controller.abort(new StopTask('jobserver shutting down'));
    const ids = [...this.running.keys()];
    await Promise.all([...this.running.values()].map((r) => r.done));
    for (const id of ids) await this.o.repo.release(id, this.o.workerId).catch(() => {});
  }
}
