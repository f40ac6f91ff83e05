// A transparent tap between a Discord client and the sim, to check what really crosses the wire.
// HTTP requests are forwarded (with the gateway URL of /gateway and /gateway/bot pointed at the
// tap); each gateway connection is relayed message for message, unchanged, and every message the
// server sends is recorded as it was framed (binary or text, its bytes).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface TappedConnection {
  /** Path and query the client connected with (`/?v=10&encoding=json&compress=zlib-stream`). */
  path: string;
  /** Server -> client messages, in order. */
  messages: { binary: boolean; data: Buffer }[];
}

export class WireTap {
  readonly connections: TappedConnection[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<WireTap> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tap = new WireTap(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      void tap.forward(target, req).then(
        ({ status, type, body }) => res.writeHead(status, type ? { 'content-type': type } : {}).end(body),
        (err: Error) => res.writeHead(502).end(err.message),
      );
    });
    server.on('upgrade', (req, socket, head) => tap.wss.handleUpgrade(req, socket, head, (ws) => tap.relay(target, req, ws)));
    return tap;
  }

  private async forward(target: string, req: IncomingMessage): Promise<{ status: number; type: string | null; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
    const res = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    let body = Buffer.from(await res.arrayBuffer());
    if (/\/gateway(\/bot)?$/.test(req.url ?? '') && res.ok) {
      body = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), url: this.url.replace(/^http/, 'ws') }));
    }
    return { status: res.status, type: res.headers.get('content-type'), body };
  }

  private relay(target: string, req: IncomingMessage, client: WebSocket): void {
    const connection: TappedConnection = { path: req.url ?? '/', messages: [] };
    this.connections.push(connection);
    const upstream = new WebSocket(`${target.replace(/^http/, 'ws')}${connection.path}`, { perMessageDeflate: false });
    const pending: [WebSocket.RawData, boolean][] = [];
    upstream.on('open', () => {
      for (const [data, binary] of pending.splice(0)) upstream.send(data, { binary });
    });
    upstream.on('message', (data: Buffer, binary) => {
      connection.messages.push({ binary, data });
      client.send(data, { binary });
    });
    client.on('message', (data, binary) => (upstream.readyState === WebSocket.OPEN ? upstream.send(data, { binary }) : pending.push([data, binary])));
    const closeCode = (code: number) => (code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000);
    upstream.on('close', (code, reason) => client.close(closeCode(code), reason));
    client.on('close', (code, reason) => upstream.close(closeCode(code), reason));
    upstream.on('error', () => client.terminate());
    client.on('error', () => upstream.terminate());
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
