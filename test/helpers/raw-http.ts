// HTTP requests exactly as written (path not normalised, any method), for fuzz and path tests:
// fetch() would resolve `..` and refuse methods like TRACE before they reach the server.
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Percent-encodes what may not appear raw in a request line (controls, spaces, non-ASCII, lone surrogates). */
export function wireSafe(text: string): string {
  return Array.from(text, (c) => {
    if (/^[\x21-\x7e]$/.test(c)) return c;
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD';
    }
  }).join('');
}

export function rawRequest(base: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number }): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method: options.method ?? 'GET', path: options.path, headers, agent: false, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${options.method ?? 'GET'} ${options.path} within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
