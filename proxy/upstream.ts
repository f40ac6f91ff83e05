// The real gateway sessions: one ShardRunner (a @discordjs/ws WebSocketShard) per shard this
// node owns, started when the ownership acquires a shard and stopped when it releases it.
// Heartbeats, zombie detection, RECONNECT/INVALID_SESSION and resume are @discordjs/ws's job;
// ours is the session in Redis (fenced), the shared identify queue, and handing every
// dispatch on, in order, once.
import { EventEmitter } from 'node:events';
import { REST } from '@discordjs/rest';
import { DefaultWebSocketManagerOptions as defaults, type FetchingStrategyOptions, WebSocketShardDestroyRecovery, WebSocketShardEvents } from '@discordjs/ws';
import { type APIGatewayBotInfo, type GatewayDispatchPayload, type GatewaySendPayload, Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { SessionStore } from './session-store';
import { ShardRunner } from './shard-runner';

/** `replayed`: an upstream RESUME replayed it and the shard log already holds it. */
export type DispatchListener = (shardId: number, payload: GatewayDispatchPayload, replayed: boolean) => void;

/** The last entry of a shard's log (shardlog's `ShardLog.lastSeq`): where a takeover resumes. */
export type LastLogged = (shard: number) => Promise<{ sessionId: string; seq: number } | null>;

export interface UpstreamOptions {
  token: string;
  intents: number;
  /** The deployment's shard count (config, /gateway/bot, or pinned in Redis). */
  shardCount: number;
  gatewayInfo: APIGatewayBotInfo;
  sessions: SessionStore;
  waitForIdentify(shard: number, signal: AbortSignal): Promise<void>;
  holds(shard: number): boolean;
  lastLogged?: LastLogged;
  /** Runs once the shard's persisted session is loaded, before it connects (may lower its seq). */
  prepare?(shard: number, sessions: SessionStore): Promise<void>;
  /** Seconds from taking a shard to its READY or RESUMED. */
  takeoverSeconds: Histogram;
  logger: Logger;
}

interface UpstreamEvents {
  ready: [shard: number];
  resumed: [shard: number];
  closed: [shard: number, code: number];
}

/** GET /gateway/bot: the URL, the recommended shard count and max_concurrency. */
export async function fetchGatewayInfo(apiUrl: string, token: string): Promise<APIGatewayBotInfo> {
  return (await new REST({ api: apiUrl }).setToken(token).get(Routes.gatewayBot())) as APIGatewayBotInfo;
}

export class Upstream extends EventEmitter<UpstreamEvents> {
  private readonly options: FetchingStrategyOptions;
  private readonly runners = new Map<number, ShardRunner>();
  private readonly dispatchListeners: DispatchListener[] = [];
  readonly latency = new Map<number, number>();
  readonly identifies = new Map<number, number>();
  readonly resumes = new Map<number, number>();

  constructor(private readonly o: UpstreamOptions) {
    super();
    const { compression, encoding, handshakeTimeout, helloTimeout, identifyProperties, initialPresence, largeThreshold, readyTimeout, useIdentifyCompression, version } = defaults;
    this.options = {
      compression, encoding, handshakeTimeout, helloTimeout, identifyProperties, initialPresence, largeThreshold, readyTimeout, useIdentifyCompression, version,
      token: o.token, intents: o.intents, gatewayInformation: o.gatewayInfo, shardCount: o.shardCount,
    };
  }

  /** Every dispatch of every owned shard, in order per shard. */
  onDispatch(listener: DispatchListener): void {
    this.dispatchListeners.push(listener);
  }

  /** Connects a newly owned shard: RESUME from the persisted session (or the log's last `s`). */
  async acquire(shard: number, epoch: number): Promise<void> {
    const persisted = await this.o.sessions.take(shard, epoch);
    const logged = persisted ? await this.o.lastLogged?.(shard) : null;
    // The log may be ahead of the periodically persisted seq: resume after its last entry.
    if (persisted && logged?.sessionId === persisted.sessionId && logged.seq !== persisted.sequence) this.o.sessions.set(shard, { ...persisted, sequence: logged.seq });
    await this.o.prepare?.(shard, this.o.sessions);
    if (!this.o.holds(shard) || this.runners.has(shard)) {
      if (!this.runners.has(shard)) this.o.sessions.forget(shard);
      return;
    }
    const runner = new ShardRunner(shard, epoch, { options: this.options, sessions: this.o.sessions, waitForIdentify: this.o.waitForIdentify, holds: this.o.holds }, logged ?? null);
    this.runners.set(shard, runner);
    this.wire(runner);
    const started = Date.now();
    const { logger } = this.o;
    logger.info({ shard, epoch, resume: persisted !== null }, 'connecting upstream shard');
    runner
      .start()
      .then(() => this.o.takeoverSeconds.observe((Date.now() - started) / 1000))
      .catch((err: Error) => logger.warn({ shard, err: err.message }, 'upstream shard failed to connect'));
  }

  /** Stops a shard: `persist` for a planned hand-off, not for a lost one (its writes are fenced). */
  async release(shard: number, persist: boolean): Promise<void> {
    const runner = this.runners.get(shard);
    if (!runner) return;
    this.runners.delete(shard);
    this.latency.delete(shard);
    await runner.release(persist);
    this.o.logger.info({ shard, persisted: persist }, 'upstream shard released');
  }

  owned(): number[] {
    return [...this.runners.keys()].sort((a, b) => a - b);
  }

  sessionInfo(shard: number) {
    return this.runners.get(shard)?.session() ?? null;
  }

  send(shard: number, payload: GatewaySendPayload): Promise<void> {
    const runner = this.runners.get(shard);
    if (!runner?.active) return Promise.reject(new Error(`shard ${shard} is not run by this node`));
    return runner.ws.send(payload);
  }

  /** Drops one shard's connection and RESUMEs it. */
  async reconnect(shard: number): Promise<void> {
    const runner = this.runners.get(shard);
    if (!runner?.active) throw new Error(`shard ${shard} is not running here`);
    await runner.ws.destroy({ reason: 'reconnect requested', recover: WebSocketShardDestroyRecovery.Resume });
  }

  statuses(): { shard: number; status: string; latency: number | null }[] {
    return [...this.runners.values()].map((r) => ({ shard: r.shard, status: r.status, latency: this.latency.get(r.shard) ?? null })).sort((a, b) => a.shard - b.shard);
  }

  private wire(runner: ShardRunner): void {
    const { shard, ws } = runner;
    const { logger } = this.o;
    ws.on(WebSocketShardEvents.Dispatch, (payload) => {
      const accepted = runner.accept(payload);
      if (!accepted) return;
      for (const listener of this.dispatchListeners) listener(shard, payload, accepted === 'replay');
    });
    ws.on(WebSocketShardEvents.Ready, () => {
      this.identifies.set(shard, (this.identifies.get(shard) ?? 0) + 1);
      logger.info({ shardId: shard }, 'upstream shard ready (identified)');
      this.emit('ready', shard);
    });
    ws.on(WebSocketShardEvents.Resumed, () => {
      this.resumes.set(shard, (this.resumes.get(shard) ?? 0) + 1);
      logger.info({ shardId: shard }, 'upstream shard resumed');
      this.emit('resumed', shard);
    });
    ws.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }) => this.latency.set(shard, latency));
    ws.on(WebSocketShardEvents.Closed, (code) => {
      logger.info({ shardId: shard, code }, 'upstream shard closed');
      this.emit('closed', shard, code);
    });
    ws.on(WebSocketShardEvents.Error, (err) => logger.warn({ shardId: shard, err: err.message }, 'upstream shard error'));
  }
}
