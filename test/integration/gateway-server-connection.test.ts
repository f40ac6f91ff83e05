// GatewayServerConnection on its own (the piece the sim and the proxy share), behind a
// real HTTP server with a minimal handler: who closed and why, server-requested
// heartbeats, query checks, payload shapes, the identify deadline and a handler that throws.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { type ClosedBy, type ConnectionHandler, GatewayServerConnection } from '../../internal/gateway/server-connection';
import { RawGatewayClient } from '../helpers/gateway-client';

describe('GatewayServerConnection', () => {
  let server: Server;
  let url: string;
  const wss = new WebSocketServer({ noServer: true });
  const conns: GatewayServerConnection[] = [];
  const closedCalls: { code: number; by: ClosedBy }[] = [];
  const commands: number[] = [];
  const RESUME = { op: 6, d: { token: 't', session_id: 's', seq: 0 } };
  const clients: RawGatewayClient[] = [];
  const handler: ConnectionHandler = {
    identify(conn, d) {
      if ((d as { token?: string }).token === 'throw') throw new Error('handler bug');
      conn.authenticated = true;
      conn.dispatch('READY', { session_id: 'x' }, 1);
    },
    resume(conn) {
      conn.authenticated = true;
      conn.dispatch('RESUMED', null, 2);
    },
    command(conn, op, d) {
      commands.push(op);
      conn.dispatch('ECHO', { op, d }, 3);
    },
    closed(_conn, code, by) {
      closedCalls.push({ code, by });
    },
  };
  const lastConn = () => conns.at(-1)!;
  const client = async (query?: string) => {
    const c = new RawGatewayClient(url, query);
    clients.push(c);
    await c.next((f) => f.op === 10);
    return c;
  };

  before(async () => {
    server = createServer();
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => conns.push(new GatewayServerConnection(ws, req, handler, { heartbeatIntervalMs: 800, logger: pino({ level: 'silent' }) }))),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const c of clients) c.terminate();
    wss.close();
    await new Promise((r) => server.close(r));
  });

  it('sends HELLO, ACKs heartbeats, and asks for one with a server-sent op 1', async () => {
    const c = await client();
    assert.equal(c.frames[0]!.d.heartbeat_interval, 800);
    c.send({ op: 1, d: null });
    await c.next((f) => f.op === 11);
    lastConn().requestHeartbeat();
    await c.next((f) => f.op === 1);
    c.close(1000);
  });

  it('records who closed and why: server, client, transport', async () => {
    const a = await client();
    const conn = lastConn();
    conn.close(4000, 'testing');
    assert.equal((await a.closed).code, 4000);
    assert.deepEqual(conn.closeInfo, { code: 4000, reason: 'testing', by: 'server' });

    const b = await client();
    const bConn = lastConn();
    b.close(4321);
    await b.closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([bConn.closeInfo?.code, bConn.closeInfo?.by], [4321, 'client']);

    const c = await client();
    const cConn = lastConn();
    cConn.terminate();
    assert.equal((await c.closed).code, 1006);
    assert.deepEqual([cConn.closeInfo?.code, cConn.closeInfo?.by], [1006, 'transport']);
    // The handler heard each end once, with the same initiator.
    for (const expected of [{ code: 4000, by: 'server' }, { code: 4321, by: 'client' }, { code: 1006, by: 'transport' }]) {
      assert.equal(closedCalls.filter((x) => x.code === expected.code && x.by === expected.by).length, 1, JSON.stringify(expected));
    }
  });

  it('rejects unsupported versions (4012) and encodings with a reason naming the fix', async () => {
    const old = new RawGatewayClient(url, 'v=8&encoding=json');
    const etf = new RawGatewayClient(url, 'v=10&encoding=etf');
    clients.push(old, etf);
    assert.equal((await old.closed).code, 4012);
    const closed = await etf.closed;
    assert.equal(closed.code, 4002);
    assert.match(closed.reason, /encoding=json/);
  });

  it('closes 4002 on binary frames and on a handler that throws, 4005 on a second RESUME', async () => {
    const a = await client();
    (a as unknown as { ws: { send(b: Buffer): void } }).ws.send(Buffer.from('{"op":1}'));
    assert.equal((await a.closed).code, 4002);

    const b = await client();
    b.identify('throw');
    assert.equal((await b.closed).code, 4002);

    const c = await client();
    c.send(RESUME);
    await c.dispatch('RESUMED');
    const voice = { guild_id: '1', channel_id: null, self_mute: false, self_deaf: false };
    c.send({ op: 4, d: voice });
    assert.deepEqual((await c.dispatch('ECHO')).d, { op: 4, d: voice });
    c.send(RESUME);
    assert.equal((await c.closed).code, 4005);
  });

  it('allows exactly 120 sends per 60 s; the 121st closes 4008', async () => {
    const c = await client();
    c.send(RESUME);
    for (let i = 0; i < 119; i++) c.send({ op: 1, d: null });
    await c.next(() => c.frames.filter((f) => f.op === 11).length === 119);
    c.send({ op: 1, d: null });
    assert.equal((await c.closed).code, 4008);
  });

  it('closes 4009 when no heartbeat arrives within 1.5 intervals', async () => {
    const c = await client();
    const started = Date.now();
    c.send(RESUME);
    assert.equal((await c.closed).code, 4009);
    const took = Date.now() - started;
    assert.ok(took >= 1_100 && took < 3_000, `closed after ${took} ms`);
  });

  it('closes 4003 a connection that heartbeats but never IDENTIFYs or RESUMEs', async () => {
    const c = await client();
    const beat = setInterval(() => c.send({ op: 1, d: null }), 200);
    const closed = await c.closed;
    clearInterval(beat);
    assert.equal(closed.code, 4003);
    assert.match(closed.reason, /IDENTIFY/);
    assert.ok(c.frames.filter((f) => f.op === 11).length >= 2, 'heartbeats were answered meanwhile');
  });

  it('closes 4002 on a payload of the wrong shape for its op; the handler never sees it', async () => {
    const presence = { since: null, activities: [], status: 'online', afk: false };
    const cases: [string, unknown, boolean][] = [
      ['op 8 without guild_id', { op: 8, d: {} }, true],
      ['op 8 query without limit', { op: 8, d: { guild_id: '1', query: '' } }, true],
      ['op 8 with 101 user_ids', { op: 8, d: { guild_id: '1', user_ids: Array.from({ length: 101 }, (_, i) => String(i)) } }, true],
      ['op 3 with a bad status', { op: 3, d: { ...presence, status: 'away' } }, true],
      ['op 3 without afk', { op: 3, d: { since: null, activities: [], status: 'online' } }, true],
      ['op 3 with activities null', { op: 3, d: { ...presence, activities: null } }, true],
      ['op 4 without self_deaf', { op: 4, d: { guild_id: '1', channel_id: null, self_mute: false } }, true],
      ['op 1 with a string', { op: 1, d: 'x' }, false],
      ['op 6 with seq 0.5', { op: 6, d: { token: 't', session_id: 's', seq: 0.5 } }, false],
      ['op 2 with properties null', { op: 2, d: { token: 't', intents: 1, properties: null } }, false],
      ['op 2 with intents as a string', { op: 2, d: { token: 't', intents: '1', properties: {} } }, false],
      ['op 2 with large_threshold 10', { op: 2, d: { token: 't', intents: 1, properties: {}, large_threshold: 10 } }, false],
      ['op 2 with a bad presence', { op: 2, d: { token: 't', intents: 1, properties: {}, presence: { status: 1 } } }, false],
    ];
    const before = commands.length;
    for (const [name, frame, authenticate] of cases) {
      const c = await client();
      if (authenticate) {
        c.send(RESUME);
        await c.dispatch('RESUMED');
      }
      c.send(frame);
      assert.equal((await c.closed).code, 4002, name);
    }
    assert.equal(commands.length, before, 'no invalid command reached the handler');
    const ok = await client();
    ok.send(RESUME);
    await ok.dispatch('RESUMED');
    ok.send({ op: 8, d: { guild_id: '1', query: '', limit: 0, nonce: 'n' } });
    ok.send({ op: 3, d: { ...presence, activities: [{ name: 'x', type: 0 }] } });
    await ok.next(() => ok.frames.filter((f) => f.t === 'ECHO').length === 2);
    ok.close();
  });
});
