// One owned upstream shard: a @discordjs/ws WebSocketShard with a context-fetching strategy of
// ours (@discordjs/ws's manager cannot add or remove one shard, and a destroy without Resume
// erases the stored session). Its session comes from the fenced store, its IDENTIFY waits in the
// shared queue, and once the shard is released (or its lease lapses on this node's clock) it
// neither reads, nor writes, nor reconnects: a paused node that wakes up cannot steal the
// session back from its successor.
import { CloseCodes, type FetchingStrategyOptions, type IContextFetchingStrategy, type SessionInfo, WebSocketShard, WebSocketShardEvents, WebSocketShardStatus } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { SessionStore } from './session-store';

export interface ShardRunnerDeps {
  options: FetchingStrategyOptions;
  sessions: SessionStore;
  waitForIdentify(shard: number, signal: AbortSignal): Promise<void>;
  /** Owned and under lease by this node's clock. */
  holds(shard: number): boolean;
}

/** What a released shard's pending connect, heartbeat or dispatch waits on: nothing, forever (and is then collected). */
const never = () => new Promise<never>(() => {});

export class ShardRunner {
  readonly ws: WebSocketShard;
  private released = false;
  /** The `s` of the last dispatch handed on; what a hand-off persists. */
  private lastHandled = 0;

  constructor(
    readonly shard: number,
    readonly epoch: number,
    private readonly deps: ShardRunnerDeps,
    /** Replayed dispatches at or below this `s` were handed on by an earlier owner (the shard log). */
    private readonly dropUpTo: { sessionId: string; seq: number } | null,
  ) {
    const strategy: IContextFetchingStrategy = {
      options: deps.options,
      retrieveSessionInfo: (id) => (this.active ? deps.sessions.get(id) : never()),
      updateSessionInfo: (id, info) => {
        if (this.active) deps.sessions.set(id, info);
      },
      waitForIdentify: (id, signal) => (this.active ? deps.waitForIdentify(id, signal) : never()),
    };
    this.ws = new WebSocketShard(strategy, shard);
  }

  get active(): boolean {
    return !this.released && this.deps.holds(this.shard);
  }

  get status(): string {
    return this.released ? 'Released' : (WebSocketShardStatus[this.ws.status] ?? String(this.ws.status));
  }

  /**
   * Whether this dispatch goes on: only while active; a replay the log already holds is `replay`
   * (only the guild state, which may stand behind the log, still takes it).
   */
  accept(payload: GatewayDispatchPayload): 'new' | 'replay' | false {
    if (!this.active) return false;
    const session = this.deps.sessions.get(this.shard);
    if (this.dropUpTo && session?.sessionId === this.dropUpTo.sessionId && payload.s <= this.dropUpTo.seq) return 'replay';
    this.lastHandled = payload.s;
    return 'new';
  }

  /** Connects: RESUME from the persisted session, IDENTIFY (through the queue) when there is none or Discord refuses it. */
  start(): Promise<void> {
    return this.ws.connect();
  }

  /**
   * Stops reading, persists the seq of the last dispatch handed on when `persist` (a planned
   * hand-off; a lost shard writes nothing), and closes resumably so the next owner RESUMEs.
   */
  async release(persist: boolean): Promise<void> {
    if (this.released) return;
    const session = this.deps.sessions.get(this.shard);
    const active = this.active;
    this.released = true;
    if (persist && active && session) {
      this.deps.sessions.set(this.shard, { ...session, sequence: this.lastHandled || session.sequence });
      await this.deps.sessions.persistAndForget(this.shard);
    } else {
      this.deps.sessions.forget(this.shard);
    }
    this.ws.removeAllListeners(WebSocketShardEvents.Dispatch);
    await this.ws.destroy({ code: CloseCodes.Resuming, reason: 'shard moves to another node' });
  }

  /** The session as the store has it now, for status pages. */
  session(): SessionInfo | null {
    return this.deps.sessions.get(this.shard);
  }
}
