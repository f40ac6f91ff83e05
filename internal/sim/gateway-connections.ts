// Every upstream connection that served a session, per shard: when it began serving (and
// whether by IDENTIFY or RESUME) and when it stopped. Tests read it through
// `GET /_sim/shards/:id/connections` to prove one owner per session and the identify spacing.
import type { GatewayServerConnection } from '../gateway/server-connection';

export interface ConnectionRecord {
  session_id: string;
  started: 'IDENTIFY' | 'RESUME';
  /** ISO-8601 with milliseconds: when IDENTIFY or RESUME was accepted. */
  opened_at: string;
  /** When the connection stopped serving the session (closed, replaced or invalidated); null while live. */
  closed_at: string | null;
  close_code: number | null;
}

/** Records kept per shard; a sim runs for one test or one dev session. */
const MAX_PER_SHARD = 1_000;

export class ConnectionLog {
  private readonly byShard = new Map<number, ConnectionRecord[]>();
  private readonly live = new WeakMap<GatewayServerConnection, ConnectionRecord>();
  private readonly refused = new Map<number, number>();

  opened(conn: GatewayServerConnection, shardId: number, sessionId: string, started: ConnectionRecord['started']): void {
    const record: ConnectionRecord = { session_id: sessionId, started, opened_at: new Date().toISOString(), closed_at: null, close_code: null };
    let list = this.byShard.get(shardId);
    if (!list) this.byShard.set(shardId, (list = []));
    list.push(record);
    if (list.length > MAX_PER_SHARD) list.shift();
    this.live.set(conn, record);
  }

  /** The first end counts: a close the sim sent ends the session's use before the socket is gone. */
  ended(conn: GatewayServerConnection, code: number | null): void {
    const record = this.live.get(conn);
    if (!record) return;
    this.live.delete(conn);
    record.closed_at = new Date().toISOString();
    record.close_code = code;
  }

  /** An IDENTIFY over the rate limit (answered with op 9): a client that queued wrongly. */
  identifyRefused(shardId: number): void {
    this.refused.set(shardId, (this.refused.get(shardId) ?? 0) + 1);
  }

  list(shardId: number): { connections: ConnectionRecord[]; identifies_refused: number } {
    return { connections: this.byShard.get(shardId) ?? [], identifies_refused: this.refused.get(shardId) ?? 0 };
  }
}
