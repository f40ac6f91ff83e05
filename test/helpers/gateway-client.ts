// A raw gateway client for protocol tests: it sends exactly what the test says.
import { constants, createInflate, type Inflate, inflateSync } from 'node:zlib';
import WebSocket from 'ws';

export interface RawFrame {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

export class RawGatewayClient {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly ws: WebSocket;
  private waiters: { test: (f: RawFrame) => boolean; resolve: (f: RawFrame) => void }[] = [];
  private zlibChunks: Buffer[] = [];
  /** Binary messages received outside zlib-stream (IDENTIFY `compress: true`). */
  binaryMessages = 0;

  constructor(url: string, query = 'v=10&encoding=json') {
    this.ws = new WebSocket(`${url}/?${query}`);
    const zlib = query.includes('compress=zlib-stream');
    let inflater: Inflate | undefined;
    if (zlib) {
      inflater = createInflate({ flush: constants.Z_SYNC_FLUSH });
      let pending = '';
      inflater.on('data', (c: Buffer) => {
        pending += c.toString();
        try {
          const frame = JSON.parse(pending) as RawFrame;
          pending = '';
          this.push(frame);
        } catch {
          // incomplete
        }
      });
    }
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (inflater) {
        this.zlibChunks.push(data);
        inflater.write(data);
        return;
      }
      if (isBinary) this.binaryMessages++;
      this.push(JSON.parse(isBinary ? inflateSync(data).toString() : data.toString()));
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('error', () => {});
  }

  /** Every binary message received, for zlib-stream suffix checks. */
  get rawChunks(): Buffer[] {
    return this.zlibChunks;
  }

  private push(frame: RawFrame) {
    this.frames.push(frame);
    for (const w of [...this.waiters]) {
      if (w.test(frame)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  next(test: (f: RawFrame) => boolean, timeoutMs = 10_000): Promise<RawFrame> {
    const found = this.frames.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.frames.map((f) => f.t ?? f.op).join(',')}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  dispatch(t: string, timeoutMs?: number): Promise<RawFrame> {
    return this.next((f) => f.op === 0 && f.t === t, timeoutMs);
  }

  identify(token: string, extra: Record<string, unknown> = {}): void {
    this.send({ op: 2, d: { token, intents: 513, properties: { os: 'linux', browser: 'test', device: 'test' }, ...extra } });
  }

  /** Stops reading from the socket (a client that does not keep up); `resume()` reads again. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Sends op 1 every `intervalMs` until the connection ends (tests that outlast a heartbeat interval). */
  heartbeat(intervalMs = 10_000): this {
    const timer = setInterval(() => this.ws.readyState === WebSocket.OPEN && this.send({ op: 1, d: null }), intervalMs);
    timer.unref();
    this.ws.once('close', () => clearInterval(timer));
    return this;
  }

  close(code = 1000): void {
    this.ws.close(code);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
