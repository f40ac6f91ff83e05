// The server side of one gateway WebSocket, as Discord runs it: query checks (v=9/10 else
// 4012, encoding=json only, compress=zlib-stream), HELLO, heartbeats and ACKs (4009 when
// none comes within 1.5 intervals), the 120-sends-per-60-s budget (4008), the 4096-byte
// client payload limit, decode errors and payloads of the wrong shape (4002, see
// client-payloads.ts), unknown opcodes (4001), commands before authentication (4003), no
// IDENTIFY or RESUME within two heartbeat intervals (4003) and a second IDENTIFY/RESUME (4005).
// What a session means (IDENTIFY, RESUME, presence, voice, member requests) is left to a
// ConnectionHandler, so the sim and the proxy's downstream server share everything below
// the session. Usage: `new GatewayServerConnection(ws, request, handler, {heartbeatIntervalMs,
// logger})`; the handler sets `authenticated` and `session`, then uses `dispatch(t, d, seq)`
// (the seq belongs to the session, which outlives connections for RESUME). Every end goes
// through `close(code, reason)` or `terminate()`, and `closeInfo` records who closed and why.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { parseClientFrame, sendProblem } from './client-payloads';
import { GatewayOpcodes, type GatewayFrame, MAX_CLIENT_PAYLOAD_BYTES, SEND_LIMIT } from './protocol';
import { deflatePayload, ZlibStreamWriter } from './zlib-stream';

export type ClosedBy = 'client' | 'server' | 'transport';

export interface CloseInfo {
  code: number;
  reason: string;
  by: ClosedBy;
}

export interface ConnectionHandler {
  identify(conn: GatewayServerConnection, d: unknown): void;
  resume(conn: GatewayServerConnection, d: unknown): void;
  /** Any other client opcode after authentication (3 presence, 4 voice, 8 members). */
  command(conn: GatewayServerConnection, op: number, d: unknown): void;
  closed(conn: GatewayServerConnection, code: number, by: ClosedBy): void;
}

export interface ConnectionOptions {
  heartbeatIntervalMs: number;
  logger: Logger;
  sendLimit?: { count: number; windowMs: number };
  /** A client that does not read is closed (4000, resumable) once this much waits to be sent. */
  maxBufferedBytes?: number;
}

const CLIENT_OPS = new Set<number>([
  GatewayOpcodes.Heartbeat,
  GatewayOpcodes.Identify,
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.Resume,
  GatewayOpcodes.RequestGuildMembers,
]);

export class GatewayServerConnection {
  private isAuthenticated = false;
  /** Closes a connection that holds no session for two heartbeat intervals. */
  private identifyTimer: NodeJS.Timeout | undefined;
  /** Owner's data (the session this connection serves). */
  session: unknown;
  readonly compress: boolean;
  /** IDENTIFY `compress: true` without transport compression: each message deflated on its own. */
  private payloadCompress = false;
  private readonly zlib: ZlibStreamWriter | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sends: number[] = [];
  private closedWith: number | undefined;
  /** Set once the connection has ended: who closed it, with which code and why. */
  closeInfo: CloseInfo | undefined;

  constructor(
    readonly ws: WebSocket,
    request: IncomingMessage,
    private readonly handler: ConnectionHandler,
    private readonly options: ConnectionOptions,
  ) {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    this.compress = query.get('compress') === 'zlib-stream';
    this.zlib = this.compress ? new ZlibStreamWriter() : undefined;
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', (code, reason) => this.teardown(code, this.closedWith === undefined ? 'client' : 'server', reason.toString()));
    ws.on('error', (err) => this.teardown(1006, 'transport', err.message));

    const version = query.get('v');
    if (version !== null && version !== '9' && version !== '10') {
      this.close(4012, `API version ${version} is not supported; use v=10`);
      return;
    }
    const encoding = query.get('encoding') ?? 'json';
    if (encoding !== 'json') {
      this.close(4002, `encoding=${encoding} is not supported; use encoding=json`);
      return;
    }
    this.send({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: options.heartbeatIntervalMs }, s: null, t: null });
    this.armHeartbeatDeadline();
    this.armIdentifyDeadline();
  }

  /** Set by the handler once IDENTIFY or RESUME succeeded, cleared when it ends the session (op 9). */
  get authenticated(): boolean {
    return this.isAuthenticated;
  }

  set authenticated(value: boolean) {
    this.isAuthenticated = value;
    clearTimeout(this.identifyTimer);
    if (!value && this.closedWith === undefined) this.armIdentifyDeadline();
  }

  get open(): boolean {
    return this.closedWith === undefined && this.ws.readyState === this.ws.OPEN;
  }

  send(frame: GatewayFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  private sendText(text: string): void {
    if (!this.open) return;
    if (this.payloadCompress) {
      this.ws.send(deflatePayload(text));
      this.checkBacklog();
      return;
    }
    if (!this.zlib) {
      this.ws.send(text);
      this.checkBacklog();
      return;
    }
    void this.zlib.write(text).then(
      (buf) => {
        if (!this.open) return;
        this.ws.send(buf);
        this.checkBacklog();
      },
      () => this.close(4000, 'compression failed'),
    );
  }

  private checkBacklog(): void {
    const max = this.options.maxBufferedBytes;
    if (max !== undefined && this.ws.bufferedAmount > max) this.close(4000, 'Send queue full: the client does not read; resume.');
  }

  dispatch(t: string, d: unknown, s: number): void {
    this.send({ op: GatewayOpcodes.Dispatch, d, s, t });
  }

  /** A dispatch whose `d` is already JSON: one serialisation serves every session of a shard. */
  dispatchJson(t: string, dJson: string, s: number): void {
    this.sendText(`{"op":0,"d":${dJson},"s":${s},"t":${JSON.stringify(t)}}`);
  }

  /** Asks the client for an immediate heartbeat (server-sent op 1); it must answer with op 1. */
  requestHeartbeat(): void {
    this.send({ op: GatewayOpcodes.Heartbeat, d: null, s: null, t: null });
  }

  /** The one way the server ends a connection. */
  close(code: number, reason = ''): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = code;
    // A close reason may hold at most 123 bytes (a cut character may grow into U+FFFD).
    this.ws.close(code, Buffer.from(reason).subarray(0, 120).toString());
    // A client that never answers the close handshake is dropped.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
    this.teardown(code, 'server', reason);
  }

  /** Drops the transport without a close frame (a network failure, as the client sees it). */
  terminate(reason = 'Transport dropped.'): void {
    this.closedWith ??= 1006;
    this.ws.terminate();
    this.teardown(1006, 'transport', reason);
  }

  private teardown(code: number, by: ClosedBy, reason: string): void {
    if (this.closeInfo) return;
    this.closeInfo = { code, reason, by };
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.identifyTimer);
    this.zlib?.close();
    this.options.logger.debug({ code, reason, by }, 'gateway connection closed');
    this.handler.closed(this, code, by);
  }

  private armHeartbeatDeadline(): void {
    clearTimeout(this.heartbeatTimer);
    // The first beat comes after interval * jitter; allow half an interval of slack.
    this.heartbeatTimer = setTimeout(() => this.close(4009, 'Session timed out.'), this.options.heartbeatIntervalMs * 1.5);
    this.heartbeatTimer.unref();
  }

  private armIdentifyDeadline(): void {
    // Two intervals: a client silent altogether gets the heartbeat deadline (4009) first.
    this.identifyTimer = setTimeout(() => this.close(4003, 'Not authenticated: no IDENTIFY or RESUME.'), this.options.heartbeatIntervalMs * 2);
    this.identifyTimer.unref();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closedWith !== undefined) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (buf.length > MAX_CLIENT_PAYLOAD_BYTES) return this.close(4002, 'Payload too large.');
    if (isBinary) return this.close(4002, 'Binary frames are not accepted with encoding=json.');

    const limit = this.options.sendLimit ?? SEND_LIMIT;
    const now = Date.now();
    this.sends = this.sends.filter((t) => now - t < limit.windowMs);
    this.sends.push(now);
    if (this.sends.length > limit.count) return this.close(4008, 'Rate limited.');

    let frame: { op?: unknown; d?: unknown };
    try {
      frame = parseClientFrame(buf.toString('utf8')) as typeof frame;
    } catch {
      return this.close(4002, 'Error while decoding payload.');
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.op !== 'number') {
      return this.close(4002, 'Payload must be an object with a numeric op.');
    }
    const { op, d } = frame;
    if (!CLIENT_OPS.has(op)) return this.close(4001, `Unknown opcode ${op}.`);
    const isCommand = op !== GatewayOpcodes.Heartbeat && op !== GatewayOpcodes.Identify && op !== GatewayOpcodes.Resume;
    if (isCommand && !this.authenticated) return this.close(4003, 'Not authenticated.');
    const problem = sendProblem(op, d);
    if (problem) return this.close(4002, problem);
    if (op === GatewayOpcodes.Heartbeat) {
      this.armHeartbeatDeadline();
      this.send({ op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
      return;
    }
    try {
      if (op === GatewayOpcodes.Identify) {
        if (this.authenticated) return this.close(4005, 'Already authenticated.');
        this.payloadCompress = !this.zlib && (d as { compress?: unknown } | null)?.compress === true;
        return this.handler.identify(this, d);
      }
      if (op === GatewayOpcodes.Resume) {
        if (this.authenticated) return this.close(4005, 'Already authenticated.');
        return this.handler.resume(this, d);
      }
      this.handler.command(this, op, d);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, op }, 'gateway payload rejected');
      this.close(4002, 'Invalid payload.');
    }
  }
}
