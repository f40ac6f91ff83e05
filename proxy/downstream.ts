// The Discord gateway v10 the proxy serves to bots. A bot's IDENTIFY gets a READY built from
// the upstream shard's READY and the shard's GUILD_CREATEs from the guild state, then live
// events with its own seq. Events are kept per session for RESUME, and per shard while no
// session holds it, so a restarted bot loses nothing and never makes the proxy re-identify.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { GatewayDispatchPayload, GatewayGuildMembersChunkDispatch, GatewayRateLimitedDispatch, GatewaySendPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { checkIntents, EVENT_INTENTS, endsSession, GatewayIntentBits, GatewayOpcodes, parseShard, PRIVILEGED_INTENTS } from '../internal/gateway/protocol';
import { type ClosedBy, type ConnectionHandler, GatewayServerConnection } from '../internal/gateway/server-connection';
import type { GuildState } from './guild-state';
import type { ProxyMetrics } from './metrics';

interface Entry {
  t: string;
  json: string;
  at: number;
  /** GUILD_CREATE (joined) or GUILD_DELETE without `unavailable` (left): what a session was told it holds. */
  guild?: { id: string; left: boolean };
}

interface Session {
  id: string;
  shardId: number;
  intents: number;
  seq: number;
  /** Entries after `firstSeq - 1`, for RESUME. */
  history: Entry[];
  firstSeq: number;
  conn: GatewayServerConnection | undefined;
  disconnectedAt: number;
  sends: number[];
  /** Guilds this session was told it holds (READY, GUILD_CREATE, GUILD_DELETE). */
  guilds: Set<string>;
  /** The upstream session it mirrored was replaced: a RESUME replays what is left, then op 9. */
  invalidated: boolean;
}

export interface DownstreamOptions {
  token: string;
  shardCount: number;
  shardIds: Set<number>;
  guilds: GuildState;
  send: (shardId: number, payload: GatewaySendPayload) => Promise<void>;
  publicUrl: string;
  bufferMaxEvents: number;
  bufferMaxAgeMs: number;
  heartbeatIntervalMs?: number;
  /** How long an IDENTIFY waits for its upstream shard's session to be confirmed (RESUMED or READY). */
  readyWaitMs?: number;
  /** A client whose unsent data passes this many bytes is closed (resumable) and must RESUME. */
  clientSendQueueMaxBytes?: number;
  metrics: ProxyMetrics;
  logger: Logger;
}

/** Sends per 60 s that the downstream sessions of one shard share (Discord allows 120, keep headroom). */
const SHARD_SEND_BUDGET = 110;
const SEND_WINDOW_MS = 60_000;
/** How long a member request waits for its chunks (or RATE_LIMITED) before it is forgotten. */
const MEMBER_REQUEST_TTL_MS = 120_000;

export class Downstream implements ConnectionHandler {
  // Frames up to 1 MiB reach the connection, which closes those over 4096 bytes with 4002 as Discord does.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  private readonly sessions = new Map<string, Session>();
  /** Every open connection, with or without a session: a shutdown closes them all. */
  private readonly conns = new Set<GatewayServerConnection>();
  /** The same sessions by shard: the event path touches only its shard's. */
  private readonly byShard = new Map<number, Set<Session>>();
  /** Events of a shard while no session was connected to it. */
  private readonly missed = new Map<number, Entry[]>();
  /** Shards whose upstream session is confirmed (RESUMED or a fresh READY) since this start. */
  private readonly confirmed = new Set<number>();
  /** Our nonce of each member request forwarded upstream -> the asking session and its own nonce. */
  private readonly memberNonces = new Map<string, { sessionId: string; nonce: string | undefined; at: number }>();
  /** Marks the nonces this process issued: an answer carrying an expired one is nobody's. */
  private readonly noncePrefix = randomBytes(4).toString('hex');
  private nonceCounter = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: DownstreamOptions) {
    this.sweeper = setInterval(() => this.sweep(), 1_000);
    this.sweeper.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (request, socket, head) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        const conn = new GatewayServerConnection(ws, request, this, { heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 41_250, maxBufferedBytes: this.opts.clientSendQueueMaxBytes, logger: this.opts.logger });
        if (!conn.closeInfo) this.conns.add(conn); // a bad query closes it at once
      });
    });
  }

  /** One upstream dispatch: to every session of its shard, or into the shard's missed buffer. */
  onUpstream(shardId: number, payload: GatewayDispatchPayload): void {
    if (payload.t === 'READY') this.upstreamReplaced(shardId);
    if (payload.t === 'READY' || payload.t === 'RESUMED') {
      this.confirmed.add(shardId);
      return;
    }
    if (payload.t === 'GUILD_MEMBERS_CHUNK' || payload.t === 'RATE_LIMITED') {
      const nonce = payload.t === 'RATE_LIMITED' ? (payload.d.meta as { nonce?: string }).nonce : payload.d.nonce;
      if (nonce?.startsWith(this.noncePrefix)) return this.answerMemberRequest(payload, nonce);
      // Only member requests are rate limited, and those we forward carry our nonce.
      if (payload.t === 'RATE_LIMITED') return;
    }
    const entry: Entry = { t: payload.t, json: JSON.stringify(payload.d), at: Date.now(), guild: guildChange(payload) };
    const needs = EVENT_INTENTS[payload.t];
    let delivered = false;
    for (const session of this.byShard.get(shardId) ?? []) {
      if (needs !== undefined && (needs & session.intents) === 0) continue;
      this.push(session, entry);
      if (session.conn?.authenticated) delivered = true;
    }
    if (!delivered) {
      const list = this.missed.get(shardId) ?? [];
      list.push(entry);
      if (list.length > this.opts.bufferMaxEvents) {
        list.shift();
        this.opts.metrics.bufferOverflow.inc({ shard: String(shardId) });
      }
      this.missed.set(shardId, list);
    }
  }

  /** `raw` has IDENTIFY's shape (client-payloads.ts); here its meaning is checked. */
  identify(conn: GatewayServerConnection, raw: unknown): void {
    const d = raw as { token: string; intents: number; shard?: unknown; large_threshold?: number };
    if (d.token.replace(/^Bot\s+/i, '') !== this.opts.token) return conn.close(4004, 'Authentication failed.');
    const shard = parseShard(d.shard);
    if (!shard) return conn.close(4010, 'Invalid shard: send [shard_id, num_shards] with 0 <= shard_id < num_shards.');
    const [shardId, shardCount] = shard;
    if (shardCount !== this.opts.shardCount) return conn.close(4011, `Sharding required: this proxy runs ${this.opts.shardCount} shards.`);
    if (!this.opts.shardIds.has(shardId)) return conn.close(4010, `Invalid shard: shard ${shardId} is not served by this proxy node.`);
    // Privileged intents are Discord's to refuse (the upstream session has what the bot may have).
    if (checkIntents(d.intents, PRIVILEGED_INTENTS)) return conn.close(4013, 'Invalid intent(s).');
    conn.authenticated = true; // a second IDENTIFY while we wait is 4005
    void this.waitReady(shardId, conn).then((ready) => {
      if (!ready || !conn.open) return;
      const guildIds = this.opts.guilds.guildIds(shardId);
      const largeThreshold = d.large_threshold ?? 50;
      const session: Session = { id: randomBytes(16).toString('hex'), shardId, intents: d.intents, seq: 0, history: [], firstSeq: 1, conn, disconnectedAt: 0, sends: [], guilds: new Set(guildIds), invalidated: false };
      this.sessions.set(session.id, session);
      let shardSessions = this.byShard.get(shardId);
      if (!shardSessions) this.byShard.set(shardId, (shardSessions = new Set()));
      shardSessions.add(session);
      conn.session = session;
      this.opts.metrics.sessions.inc();
      this.push(session, { t: 'READY', at: Date.now(), json: JSON.stringify({ ...ready, guilds: guildIds.map((id) => ({ id, unavailable: true })), session_id: session.id, resume_gateway_url: this.opts.publicUrl, shard: [shardId, shardCount] }) });
      if (session.intents & GatewayIntentBits.Guilds) {
        for (const id of guildIds) {
          const guild = this.opts.guilds.guildCreateFor(shardId, id, session.intents, largeThreshold);
          if (guild && !guild.unavailable) this.push(session, { t: 'GUILD_CREATE', at: Date.now(), json: JSON.stringify(guild), guild: { id, left: false } });
        }
      }
      // What the shard got while no bot held it, in order, after READY and the GUILD_CREATEs.
      for (const entry of this.missed.get(shardId) ?? []) {
        const needs = EVENT_INTENTS[entry.t];
        if (needs === undefined || needs & session.intents) this.push(session, entry);
      }
      this.missed.delete(shardId);
    });
  }

  /** `raw` has RESUME's shape (client-payloads.ts). */
  resume(conn: GatewayServerConnection, raw: unknown): void {
    const d = raw as { token: string; session_id: string; seq: number };
    if (d.token.replace(/^Bot\s+/i, '') !== this.opts.token) return conn.close(4004, 'Authentication failed.');
    const session = this.sessions.get(d.session_id);
    const seq = d.seq;
    if (!session || seq < session.firstSeq - 1) {
      conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }
    if (seq > session.seq) return conn.close(4007, 'Invalid seq.');
    if (session.conn && session.conn !== conn) session.conn.close(4000, 'Session resumed elsewhere.');
    session.conn = conn;
    conn.session = session;
    conn.authenticated = true;
    this.opts.metrics.resumes.inc();
    for (let i = seq - session.firstSeq + 1; i < session.history.length; i++) {
      const e = session.history[i]!;
      conn.dispatchJson(e.t, e.json, session.firstSeq + i);
    }
    if (session.invalidated) return this.invalidate(session, conn);
    this.missed.delete(session.shardId);
    this.push(session, { t: 'RESUMED', json: 'null', at: Date.now() });
  }

  command(conn: GatewayServerConnection, op: number, d: unknown): void {
    const session = conn.session as Session | undefined;
    if (!session) return; // IDENTIFY still waiting for the upstream READY
    // Only payloads of a valid shape get here (client-payloads.ts): nothing invalid goes upstream.
    if (op !== GatewayOpcodes.PresenceUpdate && op !== GatewayOpcodes.VoiceStateUpdate && op !== GatewayOpcodes.RequestGuildMembers) return;
    // A fair share of the upstream shard's send budget per connected session.
    const now = Date.now();
    session.sends = session.sends.filter((t) => now - t < SEND_WINDOW_MS);
    const peers = [...(this.byShard.get(session.shardId) ?? [])].filter((s) => s.conn?.open).length;
    if (session.sends.length >= Math.max(1, Math.floor(SHARD_SEND_BUDGET / Math.max(1, peers)))) return conn.close(4008, 'Rate limited.');
    session.sends.push(now);
    let payload = { op, d } as GatewaySendPayload;
    if (op === GatewayOpcodes.RequestGuildMembers) {
      const { guild_id: guildId, nonce: original } = d as { guild_id: string; nonce?: string };
      // Discord ignores a guild the shard does not hold; so do we, before spending a nonce on it.
      if (!this.opts.guilds.guildCreate(session.shardId, guildId)) return;
      const nonce = `${this.noncePrefix}.${(this.nonceCounter++).toString(36)}`;
      this.memberNonces.set(nonce, { sessionId: session.id, nonce: original, at: now });
      payload = { op, d: { ...(d as object), nonce } } as GatewaySendPayload;
    }
    this.opts.send(session.shardId, payload).catch((err: Error) => this.opts.logger.warn({ err: err.message, shard: session.shardId }, 'forwarding a send upstream failed'));
  }

  closed(conn: GatewayServerConnection, code: number, by: ClosedBy): void {
    this.conns.delete(conn);
    const session = conn.session as Session | undefined;
    if (!session || session.conn !== conn) return;
    session.conn = undefined;
    session.disconnectedAt = Date.now();
    if (by === 'client' && endsSession(code)) this.drop(session);
  }

  stats(): { sessions: number; connected: number; buffered: number; member_requests: number } {
    let buffered = 0;
    let connected = 0;
    for (const s of this.sessions.values()) {
      if (s.conn) connected++;
      else buffered += s.history.length;
    }
    for (const list of this.missed.values()) buffered += list.length;
    return { sessions: this.sessions.size, connected, buffered, member_requests: this.memberNonces.size };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    // Connections without a session too (an IDENTIFY still waiting, one after op 9): the
    // WebSocket server only closes once every client is gone.
    for (const conn of this.conns) conn.close(4000, 'Proxy shutting down; resume.');
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private push(session: Session, entry: Entry): void {
    if (entry.guild?.left) session.guilds.delete(entry.guild.id);
    else if (entry.guild) session.guilds.add(entry.guild.id);
    session.seq++;
    session.history.push(entry);
    if (session.history.length > this.opts.bufferMaxEvents) {
      session.history.shift();
      session.firstSeq++;
    }
    if (session.conn?.authenticated) {
      session.conn.dispatchJson(entry.t, entry.json, session.seq);
      this.opts.metrics.eventsOut.inc({ shard: String(session.shardId) });
    }
  }

  /** A member chunk or RATE_LIMITED goes to the session that asked only, with its own nonce back. */
  private answerMemberRequest(payload: GatewayGuildMembersChunkDispatch | GatewayRateLimitedDispatch, nonce: string): void {
    const target = this.memberNonces.get(nonce);
    if (!target) return; // expired
    const last = payload.t === 'RATE_LIMITED' || payload.d.chunk_index >= payload.d.chunk_count - 1;
    if (last) this.memberNonces.delete(nonce);
    const session = this.sessions.get(target.sessionId);
    if (!session) return;
    const own = target.nonce === undefined ? {} : { nonce: target.nonce };
    let d: unknown;
    if (payload.t === 'RATE_LIMITED') {
      const { nonce: _, ...meta } = payload.d.meta as { nonce?: string };
      d = { ...payload.d, meta: { ...meta, ...own } };
    } else {
      const { nonce: _, ...rest } = payload.d;
      d = { ...rest, ...own };
    }
    this.push(session, { t: payload.t, json: JSON.stringify(d), at: Date.now() });
  }

  private async waitReady(shardId: number, conn: GatewayServerConnection) {
    const deadline = Date.now() + (this.opts.readyWaitMs ?? 30_000);
    while (conn.open) {
      // Persisted state is only served once the upstream session it came from is confirmed.
      const ready = this.confirmed.has(shardId) ? this.opts.guilds.readyOf(shardId) : undefined;
      if (ready) return ready;
      if (Date.now() > deadline) {
        conn.close(4000, `Upstream shard ${shardId} is not ready; try again.`);
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /**
   * A fresh upstream READY replaced the shard's session (after INVALID_SESSION or a refused
   * RESUME): every downstream session of the shard is told which of its guilds are gone, then
   * gets op 9 so its library IDENTIFYs again and gets the new READY from us. The events kept
   * for the shard belong to the old session.
   */
  private upstreamReplaced(shardId: number): void {
    this.missed.delete(shardId);
    const holds = new Set(this.opts.guilds.guildIds(shardId));
    for (const session of [...(this.byShard.get(shardId) ?? [])]) {
      if (session.intents & GatewayIntentBits.Guilds) {
        for (const id of [...session.guilds]) {
          if (!holds.has(id)) this.push(session, { t: 'GUILD_DELETE', json: JSON.stringify({ id }), at: Date.now(), guild: { id, left: true } });
        }
      }
      this.byShard.get(shardId)?.delete(session);
      if (session.conn?.authenticated) this.invalidate(session, session.conn);
      else session.invalidated = true;
    }
  }

  /** Ends a session whose upstream is gone: op 9 (not resumable) on a connection that stays open for IDENTIFY. */
  private invalidate(session: Session, conn: GatewayServerConnection): void {
    this.drop(session);
    conn.session = undefined;
    conn.authenticated = false;
    conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
  }

  private drop(session: Session): void {
    if (this.sessions.delete(session.id)) this.opts.metrics.sessions.dec();
    this.byShard.get(session.shardId)?.delete(session);
  }

  /** Forgets sessions gone longer than the buffer age, and events older than it. */
  private sweep(): void {
    const nonceCutoff = Date.now() - MEMBER_REQUEST_TTL_MS;
    for (const [nonce, request] of this.memberNonces) if (request.at < nonceCutoff) this.memberNonces.delete(nonce);
    const cutoff = Date.now() - this.opts.bufferMaxAgeMs;
    for (const s of this.sessions.values()) {
      if (!s.conn && s.disconnectedAt < cutoff) this.drop(s);
    }
    for (const [shard, list] of this.missed) {
      while (list.length && list[0]!.at < cutoff) list.shift();
      if (!list.length) this.missed.delete(shard);
    }
    this.opts.metrics.buffered.set(this.stats().buffered);
  }
}

/** The guild a dispatch adds to or removes from its shard, as a bot sees it. */
function guildChange(payload: GatewayDispatchPayload): Entry['guild'] {
  if (payload.t === 'GUILD_CREATE') return { id: payload.d.id, left: false };
  if (payload.t === 'GUILD_DELETE' && !payload.d.unavailable) return { id: payload.d.id, left: true };
  return undefined;
}
