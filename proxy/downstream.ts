// The Discord gateway v10 the proxy serves to bots. A bot's IDENTIFY gets a READY built from
// the upstream shard's READY and the shard's GUILD_CREATEs from the guild state, then live
// events with its own seq. Events are kept per session for RESUME, and per shard while no
// session holds it, so a restarted bot loses nothing and never makes the proxy re-identify.
// With the shard log on, each session is also a position in its shard's log, kept in Redis
// (downstream-store.ts): a RESUME this process cannot serve from memory (it was restarted, or
// the session began elsewhere) is served from the log (downstream-replay.ts), and bots of a
// shard another node owns are served here from its log (downstream-feed.ts).
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { GatewayDispatchPayload, GatewayGuildMembersChunkDispatch, GatewayRateLimitedDispatch, GatewaySendPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { DEFAULT_LARGE_THRESHOLD } from '../internal/gateway/guild-create';
import { checkIntents, EVENT_INTENTS, endsSession, GatewayIntentBits, GatewayOpcodes, parseShard, PRIVILEGED_INTENTS } from '../internal/gateway/protocol';
import { type ClosedBy, type ConnectionHandler, GatewayServerConnection } from '../internal/gateway/server-connection';
import { broadcasts, type Entry, guildChange, restore } from './downstream-replay';
import { RemoteShards } from './downstream-feed';
import type { DownstreamStore } from './downstream-store';
import type { GuildState } from './guild-state';
import type { ProxyMetrics } from './metrics';
import { compareIds, type LogEntry, type LogPosition, type ShardLog } from './shard-log';

interface Session {
  id: string;
  shardId: number;
  intents: number;
  /** IDENTIFY's large_threshold: the GUILD_CREATEs rendered for it trim offline members above it. */
  largeThreshold: number;
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
  /** The last shard log entry this session has passed, delivered or not (its intents decide). */
  cursor: LogPosition | undefined;
  /** `seq` at the last anchor written to the store. */
  anchoredSeq: number;
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
  /** The shard log and the session store: with them sessions outlive this process and any shard is served. */
  persist?: {
    log: ShardLog;
    store: DownstreamStore;
    redis: Redis;
    /** A shard's persisted guild state into `into`, and the log position it is as of. */
    snapshot: (shard: number, into: GuildState) => Promise<string | undefined>;
  };
}

/** Sends per 60 s that the downstream sessions of one shard share (Discord allows 120, keep headroom). */
const SHARD_SEND_BUDGET = 110;
const SEND_WINDOW_MS = 60_000;
/** How long a member request waits for its chunks (or RATE_LIMITED) before it is forgotten. */
const MEMBER_REQUEST_TTL_MS = 120_000;
/** Session ids we issue; anything else is not looked up. */
const SESSION_ID = /^[0-9a-f]{32}$/;
/** Connected sessions' persisted records are refreshed this often (they expire after the buffer age). */
const TOUCH_EVERY_MS = 10_000;
/** How long a RESUME waits for Redis before it does without (memory) or is refused (op 9). */
const REDIS_WAIT_MS = 2_000;
/** How long a RESUME ahead of the shard log waits for the next owner to write the rest (then 4007). */
const AHEAD_WAIT_MS = 15_000;

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
  private touchedAt = Date.now();
  /** Shards another node owns that bots here are served of, read from their logs. */
  private readonly remote: RemoteShards | undefined;

  constructor(private readonly opts: DownstreamOptions) {
    if (opts.persist) {
      this.remote = new RemoteShards({
        ...opts.persist,
        logger: opts.logger,
        onEntry: (shard, entry, payload) => this.onUpstream(shard, payload, entry),
        onHole: (shard) => this.lostEvents(shard),
      });
    }
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

  /**
   * One upstream dispatch (`logged`: its shard log entry, when the log is on): to every session
   * of its shard, or into the shard's missed buffer.
   */
  onUpstream(shardId: number, payload: GatewayDispatchPayload, logged?: LogEntry): void {
    if (payload.t === 'READY') this.upstreamReplaced(shardId);
    if (payload.t === 'READY' || payload.t === 'RESUMED') {
      this.confirmed.add(shardId);
      return;
    }
    if (payload.t === 'GUILD_MEMBERS_CHUNK' || payload.t === 'RATE_LIMITED') {
      const nonce = payload.t === 'RATE_LIMITED' ? (payload.d.meta as { nonce?: string }).nonce : payload.d.nonce;
      if (nonce?.startsWith(`${this.noncePrefix}.`)) return this.answerMemberRequest(payload, nonce);
      // Another proxy's (or an expired) member request: nobody's here, as in a replay from the log.
      if (!broadcasts(payload.t, nonce)) return;
    }
    const log = logged && { id: logged.id, sid: logged.sid, s: logged.s };
    const json = payload.t === 'GUILD_CREATE' ? undefined : (logged?.d ?? JSON.stringify(payload.d));
    const entry: Entry = { t: payload.t, json, at: Date.now(), guild: guildChange(payload), log };
    const needs = EVENT_INTENTS[payload.t];
    // Read from the log: a session that caught up past the feed skips what it has.
    const remote = this.remote?.get(shardId) !== undefined;
    let delivered = remote; // the owner keeps what no bot took
    for (const session of this.byShard.get(shardId) ?? []) {
      if (remote && log && session.cursor && compareIds(log.id, session.cursor.id) <= 0) continue;
      if (log) session.cursor = log;
      if (needs !== undefined && (needs & session.intents) === 0) continue;
      this.push(session, entry);
      if (session.conn?.authenticated) delivered = true;
    }
    // A GUILD_CREATE is not kept: the IDENTIFY that takes the buffer sends every guild from the
    // state it was applied to, before the buffered events.
    if (!delivered && payload.t !== 'GUILD_CREATE') {
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
    // With the shard log every node serves every shard; without it, only its own.
    if (!this.opts.persist && !this.opts.shardIds.has(shardId)) return conn.close(4010, `Invalid shard: shard ${shardId} is not served by this proxy node.`);
    // Privileged intents are Discord's to refuse (the upstream session has what the bot may have).
    if (checkIntents(d.intents, PRIVILEGED_INTENTS)) return conn.close(4013, 'Invalid intent(s).');
    conn.authenticated = true; // a second IDENTIFY while we wait is 4005
    void this.waitReady(shardId, conn).then((ready) => {
      if (!ready || !conn.open) return;
      const guilds = this.guildsOf(shardId);
      const guildIds = guilds.guildIds(shardId);
      const largeThreshold = d.large_threshold ?? DEFAULT_LARGE_THRESHOLD;
      const session: Session = { id: randomBytes(16).toString('hex'), shardId, intents: d.intents, largeThreshold, seq: 0, history: [], firstSeq: 1, conn, disconnectedAt: 0, sends: [], guilds: new Set(guildIds), invalidated: false, cursor: undefined, anchoredSeq: 0 };
      this.sessions.set(session.id, session);
      let shardSessions = this.byShard.get(shardId);
      if (!shardSessions) this.byShard.set(shardId, (shardSessions = new Set()));
      shardSessions.add(session);
      conn.session = session;
      this.opts.metrics.sessions.inc();
      this.push(session, { t: 'READY', at: Date.now(), json: JSON.stringify({ ...ready, guilds: guildIds.map((id) => ({ id, unavailable: true })), session_id: session.id, resume_gateway_url: this.opts.publicUrl, shard: [shardId, shardCount] }) });
      if (session.intents & GatewayIntentBits.Guilds) {
        for (const id of guildIds) {
          const guild = guilds.guildCreateFor(shardId, id, session.intents, largeThreshold);
          if (guild && !guild.unavailable) this.push(session, { t: 'GUILD_CREATE', at: Date.now(), guild: { id, left: false } }, JSON.stringify(guild));
        }
      }
      // What the shard got while no bot held it, in order, after READY and the GUILD_CREATEs.
      for (const entry of this.missed.get(shardId) ?? []) {
        const needs = EVENT_INTENTS[entry.t];
        if (needs === undefined || needs & session.intents) this.push(session, entry);
      }
      this.missed.delete(shardId);
      // From here on the session gets the log's entries after its head (or the feed's position).
      session.cursor = this.remote?.get(shardId)?.position ?? this.opts.persist?.log.head(shardId);
      this.persistSession(session);
      this.opts.persist?.store.claim(session.id, this.noncePrefix).catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'recording a session holder failed'));
    });
  }

  /** `raw` has RESUME's shape (client-payloads.ts). */
  resume(conn: GatewayServerConnection, raw: unknown): void {
    const d = raw as { token: string; session_id: string; seq: number };
    if (d.token.replace(/^Bot\s+/i, '') !== this.opts.token) return conn.close(4004, 'Authentication failed.');
    if (this.opts.persist && SESSION_ID.test(d.session_id)) return void this.resumePersisted(conn, d.session_id, d.seq);
    this.resumeFromMemory(conn, d.session_id, d.seq);
  }

  private resumeFromMemory(conn: GatewayServerConnection, id: string, seq: number): void {
    const session = this.sessions.get(id);
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
      conn.dispatchJson(e.t, this.jsonFor(session, e), session.firstSeq + i);
    }
    if (session.invalidated) return this.invalidate(session, conn);
    this.missed.delete(session.shardId);
    this.push(session, { t: 'RESUMED', json: 'null', at: Date.now() });
    this.anchor(session);
  }

  /**
   * A RESUME with sessions in Redis: from memory when this process held the session last, else
   * (restarted, or the session went on on another node since) rebuilt from the store and the log.
   */
  private async resumePersisted(conn: GatewayServerConnection, id: string, seq: number): Promise<void> {
    const persist = this.opts.persist!;
    conn.authenticated = true; // a second IDENTIFY or RESUME meanwhile is 4005
    const refuse = () => {
      conn.authenticated = false;
      conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
    };
    let restored: Awaited<ReturnType<typeof restore>>;
    try {
      // A stalled Redis must not hold up a RESUME this process can serve from memory.
      const holder = await within(persist.store.holder(id), REDIS_WAIT_MS, () => undefined);
      const local = this.sessions.get(id);
      if (local && (holder === undefined || holder === this.noncePrefix)) {
        conn.authenticated = false;
        return conn.open ? this.resumeFromMemory(conn, id, seq) : undefined;
      }
      // Our copy is stale: the session's events since were numbered by another node.
      if (local) this.forget(local, 'Session resumed elsewhere.');
      const rebuilt = persist.store.claim(id, this.noncePrefix).then(() => restore({ ...persist, maxMissed: this.opts.bufferMaxEvents, aheadWaitMs: AHEAD_WAIT_MS }, id, seq, (shard, cursor) => this.caughtUp(shard, cursor)));
      restored = await within(rebuilt, AHEAD_WAIT_MS + REDIS_WAIT_MS * 5, (): Awaited<typeof rebuilt> => ({ kind: 'invalid' }));
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'restoring a downstream session from the shard log failed');
      return conn.open ? refuse() : undefined;
    }
    if (!conn.open) return;
    if (restored.kind === 'invalid') return refuse();
    if (restored.kind === 'seq-ahead') return conn.close(4007, 'Invalid seq.');
    if (this.sessions.has(id)) {
      // Resumed on another connection meanwhile: serve this one from memory like any RESUME.
      conn.authenticated = false;
      return this.resume(conn, { token: this.opts.token, session_id: id, seq });
    }
    const { shard, intents, largeThreshold, guilds, cursor, missed } = restored;
    const session: Session = { id, shardId: shard, intents, largeThreshold, seq, history: [], firstSeq: seq + 1, conn, disconnectedAt: 0, sends: [], guilds, invalidated: false, cursor, anchoredSeq: seq };
    this.sessions.set(id, session);
    let shardSessions = this.byShard.get(shard);
    if (!shardSessions) this.byShard.set(shard, (shardSessions = new Set()));
    shardSessions.add(session);
    conn.session = session;
    this.opts.metrics.sessions.inc();
    this.opts.metrics.resumes.inc();
    for (const entry of missed) this.push(session, entry);
    session.cursor = cursor;
    this.missed.delete(shard);
    this.push(session, { t: 'RESUMED', json: 'null', at: Date.now() });
    this.persistSession(session);
  }

  /** Whether a session at `cursor` has read all the shard's log that the live path (or the feed) has passed on. */
  private caughtUp(shard: number, cursor: LogPosition): boolean {
    const log = this.opts.persist!.log;
    if (log.owns(shard)) {
      const head = log.head(shard);
      return !head || compareIds(cursor.id, head.id) >= 0;
    }
    const feed = this.remote!.get(shard);
    if (!feed) void this.remote!.start(shard).catch(() => {}); // the caller asks again
    return feed !== undefined && compareIds(cursor.id, feed.position.id) >= 0;
  }

  private guildsOf(shard: number): GuildState {
    return this.remote?.get(shard)?.guilds ?? this.opts.guilds;
  }

  /** The shard's log has a hole: its sessions here cannot get every event, so they IDENTIFY again. */
  private lostEvents(shard: number): void {
    this.opts.logger.warn({ shard }, 'the shard log misses events; its sessions here must identify again');
    for (const session of [...(this.byShard.get(shard) ?? [])]) {
      if (session.conn?.authenticated) this.invalidate(session, session.conn);
      else this.drop(session);
    }
  }

  /**
   * The shard changed owner (to or from this node): its sessions here are closed resumable and
   * forgotten, so their RESUME (here or on any node) is served from the log, where nothing is lost.
   */
  shardMoved(shard: number): void {
    this.remote?.stop(shard);
    // Gone from this node: its upstream session here no longer confirms anything.
    if (this.opts.persist && !this.opts.persist.log.owns(shard)) this.confirmed.delete(shard);
    for (const session of [...(this.byShard.get(shard) ?? [])]) {
      this.anchor(session);
      this.forget(session, 'Shard moved; resume.');
    }
  }

  /** Drops the in-memory copy of a session that lives on in Redis; its connection must RESUME. */
  private forget(session: Session, reason: string): void {
    if (this.sessions.delete(session.id)) this.opts.metrics.sessions.dec();
    this.byShard.get(session.shardId)?.delete(session);
    const conn = session.conn;
    if (conn) {
      conn.session = undefined;
      conn.close(4000, reason);
    }
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
      if (!this.guildsOf(session.shardId).guildCreate(session.shardId, guildId)) return;
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
    this.remote?.stopAll();
    // Connections without a session too (an IDENTIFY still waiting, one after op 9): the
    // WebSocket server only closes once every client is gone.
    for (const conn of this.conns) conn.close(4000, 'Proxy shutting down; resume.');
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  /** `json`: the entry as already rendered for this session (a GUILD_CREATE of IDENTIFY's). */
  private push(session: Session, entry: Entry, json?: string): void {
    if (entry.log) session.cursor = entry.log;
    if (entry.guild) this.guildsChanged(session, entry.guild);
    session.seq++;
    session.history.push(entry);
    if (session.history.length > this.opts.bufferMaxEvents) {
      session.history.shift();
      session.firstSeq++;
    }
    if (session.conn?.authenticated) {
      session.conn.dispatchJson(entry.t, json ?? this.jsonFor(session, entry), session.seq);
      this.opts.metrics.eventsOut.inc({ shard: String(session.shardId) });
    }
  }

  /**
   * An entry's payload for this session. A GUILD_CREATE is the guild as the state holds it now,
   * trimmed for the session; one gone since (a later GUILD_DELETE follows) is sent unavailable.
   */
  private jsonFor(session: Session, entry: Entry): string {
    if (entry.json !== undefined) return entry.json;
    const id = entry.guild!.id;
    const guild = this.guildsOf(session.shardId).guildCreateFor(session.shardId, id, session.intents, session.largeThreshold);
    return JSON.stringify(guild ?? { id, unavailable: true });
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
    this.anchor(session);
  }

  private async waitReady(shardId: number, conn: GatewayServerConnection) {
    const deadline = Date.now() + (this.opts.readyWaitMs ?? 30_000);
    while (conn.open) {
      // Persisted state is only served once the upstream session it came from is confirmed
      // (by the owner, which persists its READY, for a shard read from its log). Asked anew each
      // time: a cold start assigns the shards while IDENTIFYs already wait, and shards move.
      const remote = this.opts.persist && !this.opts.persist.log.owns(shardId);
      const feed = remote ? await this.remote!.start(shardId).catch(() => undefined) : undefined;
      const ready = remote ? feed?.guilds.readyOf(shardId) : this.confirmed.has(shardId) ? this.opts.guilds.readyOf(shardId) : undefined;
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
    const holds = new Set(this.guildsOf(shardId).guildIds(shardId));
    for (const session of [...(this.byShard.get(shardId) ?? [])]) {
      if (session.intents & GatewayIntentBits.Guilds) {
        for (const id of [...session.guilds]) {
          if (!holds.has(id)) this.push(session, { t: 'GUILD_DELETE', json: JSON.stringify({ id }), at: Date.now(), guild: { id, left: true } });
        }
      }
      this.byShard.get(shardId)?.delete(session);
      if (session.conn?.authenticated) this.invalidate(session, session.conn);
      else {
        session.invalidated = true;
        this.opts.persist?.store.drop(session.id);
      }
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
    this.opts.persist?.store.drop(session.id);
  }

  /** What a RESUME elsewhere needs: shard, intents, the guilds told, and where it is in the log. */
  private persistSession(session: Session): void {
    this.opts.persist?.store.save(session.id, { shard: session.shardId, intents: session.intents, largeThreshold: session.largeThreshold, guilds: [...session.guilds] });
    this.anchor(session);
  }

  private guildsChanged(session: Session, change: NonNullable<Entry['guild']>): void {
    if (change.left) session.guilds.delete(change.id);
    else session.guilds.add(change.id);
    this.opts.persist?.store.save(session.id, { shard: session.shardId, intents: session.intents, largeThreshold: session.largeThreshold, guilds: [...session.guilds] });
  }

  /** Records that after `seq` the session continues with the log entries after its cursor. */
  private anchor(session: Session): void {
    if (!this.opts.persist || !session.cursor) return;
    this.opts.persist.store.anchor(session.id, session.seq, session.cursor.id);
    session.anchoredSeq = session.seq;
  }

  /** Forgets sessions gone longer than the buffer age, and events older than it. */
  private sweep(): void {
    const nonceCutoff = Date.now() - MEMBER_REQUEST_TTL_MS;
    for (const [nonce, request] of this.memberNonces) if (request.at < nonceCutoff) this.memberNonces.delete(nonce);
    const cutoff = Date.now() - this.opts.bufferMaxAgeMs;
    const touch = Date.now() - this.touchedAt > TOUCH_EVERY_MS;
    if (touch) this.touchedAt = Date.now();
    for (const s of this.sessions.values()) {
      if (!s.conn && s.disconnectedAt < cutoff) this.drop(s);
      else if (s.conn && s.seq !== s.anchoredSeq) this.anchor(s);
      else if (s.conn && touch) this.opts.persist?.store.touch(s.id);
    }
    this.remote?.sweep((shard) => (this.byShard.get(shard)?.size ?? 0) > 0);
    for (const [shard, list] of this.missed) {
      while (list.length && list[0]!.at < cutoff) list.shift();
      if (!list.length) this.missed.delete(shard);
    }
    this.opts.metrics.buffered.set(this.stats().buffered);
  }
}

/** `promise`, or `onTimeout()` when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
