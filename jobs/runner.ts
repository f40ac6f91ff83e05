// Runs claimed tasks: up to `concurrency` at once, each under a lease renewed while it runs.
// A task whose lease is lost (taken over, cancelled) is stopped; on shutdown running tasks
// stop at their next checkpoint and their leases are released for another jobserver.
import type { REST } from '@discordjs/rest';
import type { Logger } from 'pino';
import type { Task, TaskRepository } from './repository';
import type { ObjectStorage } from './storage';

export interface TaskContext {
  task: Task;
  /** The guild id of `g/<id>` tasks. */
  guildId: string;
  rest: REST;
  storage: ObjectStorage;
  /** Base URL of Discord's CDN (guild images), e.g. https://cdn.discordapp.com. */
  cdn: string;
  /** What earlier attempts saved; the handler continues from it. */
  checkpoint: Record<string, unknown>;
  saveCheckpoint(checkpoint: Record<string, unknown>): Promise<void>;
  status(msg: string, extra?: Record<string, unknown>): Promise<void>;
  /** Aborted when the lease is lost or the jobserver stops: return at the next checkpoint. */
  signal: AbortSignal;
  outputOf(taskId: string): Promise<Buffer>;
}

export interface TaskResult {
  msg: string;
  output?: { filename: string; size: number };
}

export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;

export class StopTask extends Error {}

export interface RunnerOptions {
  repo: TaskRepository;
  handlers: Record<string, TaskHandler>;
  workerId: string;
  concurrency: number;
  leaseSeconds: number;
  pollMs?: number;
  rest: REST;
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
          const task = await this.o.repo.claim(this.o.workerId, this.o.leaseSeconds);
          if (task) {
            claimed = true;
            this.launch(task);
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

  private launch(task: Task): void {
    const controller = new AbortController();
    const started = Date.now();
    const renew = setInterval(() => {
      void this.o.repo.renew(task.task_id, this.o.workerId, this.o.leaseSeconds).then((ours) => {
        if (!ours) controller.abort(new StopTask('lease lost'));
      }, () => {});
    }, (this.o.leaseSeconds * 1000) / 3);
    const done = this.execute(task, controller.signal)
      .then(async (result) => {
        if (!result) return;
        await this.o.repo.finish(task.task_id, this.o.workerId, result.state, result.msg, result.output);
        this.o.onFinished?.(task, result.state, Date.now() - started);
      })
      .catch((err) => this.o.logger.error({ err, task_id: task.task_id }, 'finishing a task failed'))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(task.task_id);
        this.poke();
      });
    this.running.set(task.task_id, { controller, done });
  }

  private async execute(task: Task, signal: AbortSignal): Promise<{ state: 'completed' | 'failed'; msg: string; output?: TaskResult['output'] } | undefined> {
    const handler = this.o.handlers[task.task_name];
    if (!handler) return { state: 'failed', msg: `unknown task name "${task.task_name}"` };
    const { repo, workerId } = this.o;
    let checkpoint = task.checkpoint ?? {};
    const ctx: TaskContext = {
      task,
      guildId: task.task_for.replace(/^g\//, ''),
      rest: this.o.rest,
      storage: this.o.storage,
      cdn: this.o.cdn ?? 'https://cdn.discordapp.com',
      checkpoint,
      saveCheckpoint: async (next) => {
        checkpoint = next;
        await repo.saveCheckpoint(task.task_id, workerId, next);
        if (signal.aborted) throw signal.reason;
      },
      status: (msg, extra) => repo.status(task.task_id, workerId, { level: 'info', msg, ...extra }),
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
        this.o.logger.info({ task_id: task.task_id, reason: String(signal.reason?.message ?? err) }, 'task stopped at a checkpoint');
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
