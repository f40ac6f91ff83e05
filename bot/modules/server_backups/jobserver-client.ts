// The bot's client of the jobserver (as client `bot`).
import type { Config } from '../../../internal/config';

export interface TaskView {
  task_id: string;
  task_name: string;
  state: string;
  statuses: { level: string; msg: string; ts: string }[];
  created_at: string;
}

export class JobserverClient {
  constructor(private readonly config: Config) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const secret = this.config.meta.jobserver_secrets.bot;
    if (!secret) throw new Error('meta.jobserver_secrets has no secret for client "bot"');
    const res = await fetch(`${this.config.meta.jobserver_url}${path}`, {
      method,
      headers: { authorization: `bot ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`jobserver answered ${res.status}: ${json.error ?? 'no detail'}`);
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
