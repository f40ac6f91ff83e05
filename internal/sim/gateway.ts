// The sim's gateway: sessions per shard with Discord's IDENTIFY/RESUME rules, intent
// filtering, member chunking, the identify rate limit and counters tests assert on.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import {
  checkIntents,
  closePolicy,
  endsSession,
  GatewayIntentBits,
  GatewayOpcodes,
  MAX_GUILDS_PER_SHARD,
  parseShard,
  PRIVILEGED_INTENTS,
  shardFor,
} from '../gateway/protocol';
import { type ClosedBy, type ConnectionHandler, GatewayServerConnection } from '../gateway/server-connection';
import type { ShardCounters, SimDispatch, SimWorldView } from './contract';
import { IdentifyLimiter } from '../gateway/identify-limiter';
import { payloadFor, routesTo } from './gateway-filter';
import { DEFAULT_LARGE_THRESHOLD, guildCreateFor } from '../gateway/guild-create';
import { MemberRequestLimiter, memberChunks } from './gateway-members';
import { ConnectionLog } from './gateway-connections';

export interface SimGatewayOptions {
  world: SimWorldView;
  shards: number;
  maxConcurrency: number;
  identifyIntervalMs: number;
  heartbeatIntervalMs?: number;
  publicUrl: () => string;
  logger: Logger;
  sessionStartLimit?: { total: number };
  /** Privileged intents the application may use (default: all). */
  allowedPrivilegedIntents?: number;
  /** How long a disconnected session stays resumable. */
  resumeWindowMs?: number;
  /** Dispatches kept per session for RESUME. */
  historyLimit?: number;
}

/** Defaults of the optional options, in one place. */
const DEFAULTS = {
  heartbeatIntervalMs: 41_250,
  sessionStartLimit: { total: 1000 },
  allowedPrivilegedIntents: PRIVILEGED_INTENTS,
  // Discord keeps a dropped session resumable for a few minutes.
  resumeWindowMs: 180_000,
  historyLimit: 10_000,
} satisfies Partial<SimGatewayOptions>;

type ResolvedOptions = SimGatewayOptions & Required<Pick<SimGatewayOptions, keyof typeof DEFAULTS>>;

interface Session {
  id: string;
  shardId: number;
  shardCount: number;
  intents: number;
  largeThreshold: number;
  seq: number;
  /** Sent dispatches as serialised then: a RESUME replays what was sent, not today's objects. */
  history: { s: number; t: string; json: string }[];
  /** Attached to a live connection, or detached and resumable until a deadline. */
  link: { kind: 'attached'; conn: GatewayServerConnection } | { kind: 'detached'; resumableUntil: number };
}

const attachedConn = (s: Session) => (s.link.kind === 'attached' ? s.link.conn : undefined);

export class SimGateway implements ConnectionHandler {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  private readonly sessions = new Map<string, Session>();
  private readonly counters = new Map<number, ShardCounters>();
  private readonly limiter: IdentifyLimiter;
  private readonly memberRequests = new MemberRequestLimiter();
  readonly connections = new ConnectionLog();
  private readonly sweeper: NodeJS.Timeout;
  private readonly onDispatch = (event: SimDispatch) => this.route(event);

  private readonly opts: ResolvedOptions;

  constructor(options: SimGatewayOptions) {
    const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedOptions;
    this.opts = opts;
    this.limiter = new IdentifyLimiter(opts.maxConcurrency, opts.identifyIntervalMs, opts.sessionStartLimit.total);
    opts.world.on('dispatch', this.onDispatch);
    this.sweeper = setInterval(() => this.sweep(), 1_000).unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (request, socket, head) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        new GatewayServerConnection(ws, request, this, {
          heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
          logger: this.opts.logger,
        });
      });
    });
  }

  stats(): { shards: Record<string, ShardCounters> } {
    const shards: Record<string, ShardCounters> = {};
    for (let id = 0; id < this.opts.shards; id++) this.counter(id);
    const live = [...this.sessions.values()].filter((s) => attachedConn(s)?.open);
    for (const [id, c] of [...this.counters].sort((a, b) => a[0] - b[0])) {
      shards[id] = { ...c, connected: live.filter((s) => s.shardId === id).length };
    }
    return { shards };
  }

  sessionStartLimit() {
    return this.limiter.sessionStartLimit();
  }

  forceReconnect(shard: number): number {
    return this.eachConn(shard, (conn) => {
      conn.send({ op: GatewayOpcodes.Reconnect, d: null, s: null, t: null });
      // Clients close themselves on op 7; one that does not is dropped.
      setTimeout(() => conn.open && conn.close(4000, 'Reconnect requested.'), 2_000).unref();
    });
  }

  forceInvalidSession(shard: number, resumable: boolean): number {
    return this.eachConn(shard, (conn) => {
      // The connection stays open but serves no session: the client RESUMEs or IDENTIFYs again.
      this.detach(conn.session as Session, !resumable);
      this.connections.ended(conn, null);
      conn.session = undefined;
      conn.authenticated = false;
      conn.send({ op: GatewayOpcodes.InvalidSession, d: resumable, s: null, t: null });
    });
  }

  disconnect(shard: number, code?: number): number {
    return this.eachConn(shard, (conn) => (code === undefined ? conn.terminate() : conn.close(code, 'Disconnected by the sim.')));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.opts.world.off('dispatch', this.onDispatch);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  /** `raw` has IDENTIFY's shape (checked in gateway/client-payloads.ts); here its meaning is checked. */
  identify(conn: GatewayServerConnection, raw: unknown): void {
    const d = raw as { token: string; intents: number; shard?: unknown; large_threshold?: number };
    const threshold = d.large_threshold;
    if (d.token.replace(/^Bot\s+/i, '') !== this.opts.world.token) return conn.close(4004, 'Authentication failed.');
    const shard = parseShard(d.shard);
    if (!shard) return conn.close(4010, 'Invalid shard: send [shard_id, num_shards] with 0 <= shard_id < num_shards.');
    const [shardId, shardCount] = shard;
    const intentProblem = checkIntents(d.intents, this.opts.allowedPrivilegedIntents);
    if (intentProblem === 4013) return conn.close(4013, 'Invalid intent(s).');
    if (intentProblem === 4014) return conn.close(4014, 'Disallowed intent(s): enable the privileged intents for the application.');
    const guildIds = this.opts.world.guildIds().filter((g) => shardFor(g, shardCount) === shardId);
    if (guildIds.length > MAX_GUILDS_PER_SHARD) return conn.close(4011, `Sharding required: shard ${shardId} would hold ${guildIds.length} guilds.`);
    if (!this.limiter.tryIdentify(shardId)) {
      // Discord answers an identify over the rate limit with a non-resumable INVALID_SESSION.
      this.connections.identifyRefused(shardId);
      conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }

    const session: Session = { id: randomBytes(16).toString('hex'), shardId, shardCount, intents: d.intents, largeThreshold: threshold ?? DEFAULT_LARGE_THRESHOLD, seq: 0, history: [], link: { kind: 'attached', conn } };
    this.sessions.set(session.id, session);
    conn.session = session;
    conn.authenticated = true;
    this.connections.opened(conn, shardId, session.id, 'IDENTIFY');
    const counter = this.counter(session.shardId);
    counter.identifies++;
    const { world } = this.opts;
    this.send(session, 'READY', {
      v: 10,
      user: world.botUser,
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.opts.publicUrl(),
      shard: [session.shardId, session.shardCount],
      application: world.application,
      user_settings: {},
      private_channels: [],
      relationships: [],
    });
    for (const id of guildIds) {
      const guild = world.guildCreate(id);
      if (!guild || !(session.intents & GatewayIntentBits.Guilds)) continue;
      this.send(session, 'GUILD_CREATE', guildCreateFor(guild, session, world.botUser.id));
    }
    // IDENTIFY's initial presence works like a PRESENCE_UPDATE (op 3) right after READY.
    const presence = (d as { presence?: { status?: unknown } }).presence;
    if (typeof presence === 'object' && presence !== null && typeof presence.status === 'string') world.setBotPresence(presence as never);
  }

  /** `raw` has RESUME's shape (gateway/client-payloads.ts). */
  resume(conn: GatewayServerConnection, raw: unknown): void {
    const d = raw as { token: string; session_id: string; seq: number };
    if (d.token.replace(/^Bot\s+/i, '') !== this.opts.world.token) return conn.close(4004, 'Authentication failed.');
    const session = this.sessions.get(d.session_id);
    const seq = d.seq;
    const oldest = session?.history[0]?.s ?? (session ? session.seq + 1 : 0);
    if (!session || seq < oldest - 1) {
      conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }
    if (seq > session.seq) return conn.close(4007, 'Invalid seq.');
    const previous = attachedConn(session);
    session.link = { kind: 'attached', conn };
    conn.session = session;
    // The old connection no longer owns the session, so its close leaves the session alone.
    if (previous && previous !== conn) {
      previous.close(4000, 'Session resumed elsewhere.');
      this.connections.ended(previous, 4000);
    }
    conn.authenticated = true;
    this.connections.opened(conn, session.shardId, session.id, 'RESUME');
    this.counter(session.shardId).resumes++;
    const counter = this.counter(session.shardId);
    for (const e of session.history) {
      if (e.s <= seq) continue;
      counter.dispatched++;
      conn.dispatchJson(e.t, e.json, e.s);
    }
    this.send(session, 'RESUMED', null);
  }

  command(conn: GatewayServerConnection, op: number, d: unknown): void {
    const session = conn.session as Session;
    // Payloads have their op's shape here (gateway/client-payloads.ts).
    if (op === GatewayOpcodes.PresenceUpdate) {
      this.opts.world.setBotPresence(d as never);
      return;
    }
    if (op === GatewayOpcodes.RequestGuildMembers) {
      const result = memberChunks(this.opts.world, session, d, this.memberRequests);
      if ('close' in result) return conn.close(4002, result.close);
      for (const [t, chunk] of result.dispatches) this.send(session, t, chunk);
    }
    // Voice state updates are accepted; the sim has no voice servers.
  }

  closed(conn: GatewayServerConnection, code: number, by: ClosedBy): void {
    this.connections.ended(conn, code);
    const session = conn.session as Session | undefined;
    if (!session || attachedConn(session) !== conn) return;
    // A client's 1000/1001 ends the session, and so does a server close whose code is not
    // resumable (4007, 4009, ...): a RESUME then gets INVALID_SESSION like on Discord.
    const ends = by === 'client' ? endsSession(code) : by === 'server' && !closePolicy(code).resumable;
    this.detach(session, ends);
  }

  /** The one transition out of 'attached': the session ends, or waits for a RESUME. */
  private detach(session: Session, ends: boolean): void {
    if (ends) {
      this.sessions.delete(session.id);
      return;
    }
    session.link = { kind: 'detached', resumableUntil: Date.now() + this.opts.resumeWindowMs };
  }

  private route(event: SimDispatch): void {
    const botId = this.opts.world.botUser.id;
    for (const session of this.sessions.values()) {
      if (routesTo(event, session, botId)) this.send(session, event.t, payloadFor(event, session, botId));
    }
  }

  private send(session: Session, t: string, d: unknown): void {
    session.seq++;
    const json = JSON.stringify(d);
    session.history.push({ s: session.seq, t, json });
    if (session.history.length > this.opts.historyLimit) session.history.shift();
    const counter = this.counter(session.shardId);
    counter.last_seq = Math.max(counter.last_seq, session.seq);
    const conn = attachedConn(session);
    if (conn?.authenticated) {
      counter.dispatched++;
      conn.dispatchJson(t, json, session.seq);
    }
  }

  private counter(shardId: number): ShardCounters {
    let c = this.counters.get(shardId);
    if (!c) this.counters.set(shardId, (c = { identifies: 0, resumes: 0, dispatched: 0, last_seq: 0, connected: 0 }));
    return c;
  }

  private eachConn(shard: number, fn: (conn: GatewayServerConnection) => void): number {
    const conns = [...this.sessions.values()].filter((s) => s.shardId === shard).map(attachedConn).filter((c) => c?.open) as GatewayServerConnection[];
    conns.forEach(fn);
    return conns.length;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.link.kind === 'detached' && s.link.resumableUntil < now) this.sessions.delete(id);
  }
}
