// The real gateway sessions, through @discordjs/ws: identify buckets, heartbeats, zombie
// detection, RECONNECT/INVALID_SESSION and resume are its job; ours is to keep the session
// info in Redis (so a restarted proxy RESUMEs) and to hand every dispatch on, in order.
import { REST } from '@discordjs/rest';
import { CloseCodes, type WebSocketShard, WebSocketManager, WebSocketShardDestroyRecovery, WebSocketShardEvents, WebSocketShardStatus } from '@discordjs/ws';
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import type { SessionStore } from './session-store';

export type DispatchListener = (shardId: number, payload: GatewayDispatchPayload) => void;

export interface UpstreamOptions {
  token: string;
  apiUrl: string;
  intents: number;
  shardCount: number | null;
  shardIds: number[] | null;
  sessions: SessionStore;
  logger: Logger;
}

export class Upstream {
  readonly manager: WebSocketManager;
  private readonly listeners: DispatchListener[] = [];
  readonly latency = new Map<number, number>();
  readonly identifies = new Map<number, number>();
  readonly resumes = new Map<number, number>();

  constructor(private readonly options: UpstreamOptions) {
    const rest = new REST({ api: options.apiUrl }).setToken(options.token);
    this.manager = new WebSocketManager({
      token: options.token,
      intents: options.intents,
      rest,
      shardCount: options.shardCount,
      shardIds: options.shardIds,
      retrieveSessionInfo: (shardId) => options.sessions.get(shardId),
      updateSessionInfo: (shardId, info) => options.sessions.set(shardId, info),
    });
    this.manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
      for (const listener of this.listeners) listener(shardId, payload);
    });
    this.manager.on(WebSocketShardEvents.Ready, (_data, shardId) => {
      this.identifies.set(shardId, (this.identifies.get(shardId) ?? 0) + 1);
      options.logger.info({ shardId }, 'upstream shard ready (identified)');
    });
    this.manager.on(WebSocketShardEvents.Resumed, (shardId) => {
      this.resumes.set(shardId, (this.resumes.get(shardId) ?? 0) + 1);
      options.logger.info({ shardId }, 'upstream shard resumed');
    });
    this.manager.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }, shardId) => this.latency.set(shardId, latency));
    this.manager.on(WebSocketShardEvents.Closed, (code, shardId) => options.logger.info({ shardId, code }, 'upstream shard closed'));
    this.manager.on(WebSocketShardEvents.Error, (err, shardId) => options.logger.warn({ shardId, err: err.message }, 'upstream shard error'));
  }

  sessionInfo(shardId: number) {
    return this.options.sessions.get(shardId);
  }

  /** Every dispatch of every shard, in order per shard. */
  onDispatch(listener: DispatchListener): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    await this.manager.connect();
  }

  shardCount(): Promise<number> {
    return this.manager.getShardCount();
  }

  async shardIds(): Promise<number[]> {
    return this.manager.getShardIds();
  }

  send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    return Promise.resolve(this.manager.send(shardId, payload));
  }

  /**
   * Drops one shard's connection and RESUMEs it. @discordjs/ws has no public per-shard call,
   * so this reaches into its default (in-process) sharding strategy.
   */
  async reconnect(shardId: number): Promise<void> {
    const strategy = (this.manager as unknown as { strategy: { shards?: Map<number, WebSocketShard> } }).strategy;
    const shard = strategy.shards?.get(shardId);
    if (!shard) throw new Error(`shard ${shardId} is not running here`);
    await shard.destroy({ code: CloseCodes.Resuming, reason: 'reconnect requested', recover: WebSocketShardDestroyRecovery.Resume });
  }

  async statuses(): Promise<{ shard: number; status: string; latency: number | null }[]> {
    const statuses = await this.manager.fetchStatus();
    return [...statuses].map(([shard, status]) => ({ shard, status: WebSocketShardStatus[status] ?? String(status), latency: this.latency.get(shard) ?? null }));
  }

  /** Closes with 4200 so the sessions stay resumable for the next start. */
  async stop(): Promise<void> {
    // @discordjs/ws forgets a session it destroys without `recover`; keep ours for the next start.
    this.options.sessions.freeze();
    await this.manager.destroy({ code: CloseCodes.Resuming, reason: 'proxy restarting' });
  }
}
