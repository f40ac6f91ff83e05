// The bot's client of the jobserver (as client `bot`). Failures are typed so the command can word
// them for the user: the jobserver unreachable, or its answer (status and error) to a request.
import type { Config } from '../../../internal/config';

export interface TaskView {
  task_id: string;
  task_name: string;
  task_for: string;
  state: string;
  statuses: { level: string; msg: string; ts: string }[];
  created_at: string;
}

/** The jobserver answered with an error status. */
export class JobserverError extends Error {
  override name = 'JobserverError';
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`jobserver answered ${status}: ${detail}`);
  }
}

/** No answer at all (refused, timed out, not JSON). */
export class JobserverUnreachable extends Error {
  override name = 'JobserverUnreachable';
}

export class JobserverClient {
  constructor(private readonly config: Config) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const secret = this.config.meta.jobserver_secrets.bot;
    if (!secret) throw new JobserverUnreachable('meta.jobserver_secrets has no secret for client "bot"');
    let res: Response;
    let json: T & { error?: string };
    try {
      res = await fetch(`${this.config.meta.jobserver_url}${path}`, {
        method,
        headers: { authorization: `bot ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      json = (await res.json()) as T & { error?: string };
    } catch (err) {
      throw new JobserverUnreachable(`${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new JobserverError(res.status, json.error ?? 'no detail');
    return json;
  }

  async create(name: string, guildId: string, data: Record<string, unknown>): Promise<string> {
    return (await this.call<{ task_id: string }>('POST', '/tasks', { name, for: guildId, data })).task_id;
  }

  get(taskId: string): Promise<TaskView> {
    return this.call('GET', `/tasks/${encodeURIComponent(taskId)}`);
  }

  async list(guildId: string): Promise<TaskView[]> {
    return (await this.call<{ tasks: TaskView[] }>('GET', `/entities/${guildId}/tasks?limit=10`)).tasks;
  }
}
