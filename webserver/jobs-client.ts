// The webserver as a client of the jobserver's API, with its own client secret
// (meta.jobserver_secrets.api). The jobserver's 4xx answers (which name the bad field) are passed
// on as they are; its outages become 503.
import type { Config } from '../internal/config';
import { Unavailable } from '../internal/http/service';
import { ApiError } from './api/errors';

export const JOBS_CLIENT = 'api';
const CODES: Record<number, string> = { 400: 'invalid_request', 403: 'forbidden', 404: 'not_found', 409: 'conflict' };

export function jobsClient(config: Config) {
  const base = config.meta.jobserver_url.replace(/\/$/, '');
  const secret = config.meta.jobserver_secrets[JOBS_CLIENT];
  return async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    if (!secret) throw new Unavailable(`the webserver has no jobserver client secret (meta.jobserver_secrets.${JOBS_CLIENT})`);
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `${JOBS_CLIENT} ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Unavailable('the jobserver is unavailable; try again shortly', { cause: err });
    }
    const answer = (await res.json().catch(() => ({}))) as T & { error?: string };
    if (res.status >= 400 && res.status < 500 && res.status !== 401) throw new ApiError(res.status, CODES[res.status] ?? 'invalid_request', answer.error ?? `the jobserver answered ${res.status}`);
    if (!res.ok) throw new Unavailable(`the jobserver answered ${res.status}; try again shortly`);
    return answer;
  };
}

export type JobsClient = ReturnType<typeof jobsClient>;
