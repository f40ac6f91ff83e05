// A gateway relay for tests: bots connect to it as to Discord; for each IDENTIFY it opens a
// session at the sim and forwards every dispatch, and the test can rewrite dispatches on the way
// (to send what the sim, held to Discord, refuses to produce) or inject new ones.
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { RawFrame } from './gateway-client';

export type Rewrite = (frame: RawFrame) => RawFrame;

export class GatewayRelay {
  readonly url: Promise<string>;
  /** IDENTIFYs received: one per bot session. */
  identifies = 0;
  /** Per shard (from each IDENTIFY's `shard`): bot sessions open now, and the most ever open at once. */
  readonly live = new Map<number, number>();
  readonly maxLive = new Map<number, number>();
  private readonly server: WebSocketServer;
  private readonly sessions = new Set<{ bot: WebSocket; seq: number }>();

  constructor(
    private readonly simGatewayUrl: string,
    private readonly rewrite: Rewrite = (f) => f,
  ) {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.url = new Promise((resolve) => this.server.once('listening', () => resolve(`ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`)));
    this.server.on('connection', (bot) => this.accept(bot));
  }

  /** Sends a dispatch to every connected bot session. */
  inject(t: string, d: unknown): void {
    for (const session of this.sessions) session.bot.send(JSON.stringify({ op: 0, t, d, s: ++session.seq }));
  }

  private accept(bot: WebSocket): void {
    const session = { bot, seq: 0 };
    let upstream: WebSocket | undefined;
    let beat: NodeJS.Timeout | undefined;
    bot.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    bot.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { op: number; d: unknown };
      if (frame.op === 1) bot.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (frame.op !== 2 || upstream) return;
      this.identifies++;
      this.sessions.add(session);
      const shard = (frame.d as { shard?: [number, number] }).shard?.[0] ?? 0;
      this.live.set(shard, (this.live.get(shard) ?? 0) + 1);
      this.maxLive.set(shard, Math.max(this.maxLive.get(shard) ?? 0, this.live.get(shard)!));
      bot.once('close', () => this.live.set(shard, this.live.get(shard)! - 1));
      const sim = new WebSocket(`${this.simGatewayUrl}/?v=10&encoding=json`);
      upstream = sim;
      let simSeq: number | null = null;
      sim.on('message', (raw) => {
        const f = JSON.parse(String(raw)) as RawFrame;
        if (f.op === 10) {
          sim.send(JSON.stringify(frame));
          beat = setInterval(() => sim.send(JSON.stringify({ op: 1, d: simSeq })), (f.d as { heartbeat_interval: number }).heartbeat_interval * 0.8);
          return;
        }
        if (f.op !== 0 || bot.readyState !== bot.OPEN) return;
        simSeq = f.s;
        // Renumbered, so injected dispatches fit in the sequence.
        bot.send(JSON.stringify({ ...this.rewrite(f), s: ++session.seq }));
      });
      sim.on('error', () => {});
    });
    bot.on('close', () => {
      this.sessions.delete(session);
      clearInterval(beat);
      upstream?.close();
    });
    bot.on('error', () => {});
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.bot.terminate();
    await new Promise((r) => this.server.close(r));
  }
}
