// The sim gateway's session rules beyond close codes: forced RECONNECT / INVALID_SESSION,
// which closes end a session, member chunking, presence updates and payload compression.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';

const GUILDS = 1;
const GUILD_MEMBERS = 1 << 1;
const GUILD_PRESENCES = 1 << 8;
const GUILD_MESSAGES = 1 << 9;

describe('sim gateway: session control', () => {
  let sim: Running;
  let base: string;
  let ws: string;
  const clients: RawGatewayClient[] = [];
  const beats: NodeJS.Timeout[] = [];

  /** A client that heartbeats every second (the sim's interval is 1.5 s) and is identified or not. */
  const connect = async (query?: string) => {
    const c = new RawGatewayClient(ws, query);
    clients.push(c);
    await c.next((f) => f.op === 10);
    beats.push(setInterval(() => c.send({ op: 1, d: null }), 1_000));
    return c;
  };
  const identified = async (intents = GUILDS | GUILD_MESSAGES, extra: Record<string, unknown> = {}) => {
    const c = await connect();
    c.identify(DEFAULT_TOKEN, { intents, ...extra });
    const ready = await c.dispatch('READY');
    return { c, ready };
  };
  const post = (path: string, body: unknown = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const shard0 = async () => ((await (await fetch(`${base}/_sim/stats`)).json()) as { shards: Record<string, { identifies: number; resumes: number; connected: number }> }).shards['0']!;
  const resume = async (sessionId: string, seq: number) => {
    const c = await connect();
    c.send({ op: 6, d: { token: DEFAULT_TOKEN, session_id: sessionId, seq } });
    return { c, answer: await c.next((f) => f.op === 9 || f.t === 'RESUMED') };
  };
  const lastSeq = (c: RawGatewayClient) => Math.max(...c.frames.map((f) => f.s ?? 0));

  before(async () => {
    const port = await freePort();
    sim = start(['sim', '--port', String(port), '--shards', '1', '--guilds', '2', '--identify-interval-ms', '0', '--heartbeat-interval-ms', '1500']);
    base = /^sim listening on (\S+)/.exec(await sim.waitFor(/^sim listening on /))![1]!;
    ws = base.replace('http', 'ws');
  });
  after(async () => {
    for (const b of beats) clearInterval(b);
    for (const c of clients) c.terminate();
    await sim.stop();
  });

  it('forced RECONNECT: op 7, then the client RESUMEs on a new connection', async () => {
    const { c, ready } = await identified();
    await c.dispatch('GUILD_CREATE');
    const before = await shard0();
    assert.ok(((await post('/_sim/shards/0/reconnect')) as { sessions: number }).sessions >= 1);
    await c.next((f) => f.op === 7);
    c.close(4200);
    const { answer } = await resume(ready.d.session_id, lastSeq(c));
    assert.equal(answer.t, 'RESUMED');
    const afterStats = await shard0();
    assert.equal(afterStats.resumes, before.resumes + 1);
    assert.equal(afterStats.identifies, before.identifies);
  });

  it('forced INVALID_SESSION false ends the session; true keeps it resumable', async () => {
    const a = await identified();
    await post('/_sim/shards/0/invalid-session', { resumable: true });
    assert.equal((await a.c.next((f) => f.op === 9)).d, true);
    assert.equal((await shard0()).connected, 0, 'every session of the shard was let go');
    a.c.close(4200);
    assert.equal((await resume(a.ready.d.session_id, lastSeq(a.c))).answer.t, 'RESUMED');
    assert.equal((await shard0()).connected, 1);

    const b = await identified();
    await post('/_sim/shards/0/invalid-session', { resumable: false });
    assert.equal((await b.c.next((f) => f.op === 9)).d, false);
    assert.equal((await shard0()).connected, 0);
    // IDENTIFY again on the same connection, as Discord allows after op 9.
    b.c.identify(DEFAULT_TOKEN, { intents: GUILDS });
    await b.c.next((f) => f.t === 'READY' && f.d.session_id !== b.ready.d.session_id);
    assert.equal((await shard0()).connected, 1);
    b.c.close(4200);
    const { answer } = await resume(b.ready.d.session_id, lastSeq(b.c));
    assert.deepEqual([answer.op, answer.d], [9, false]);
  });

  it('a client 1000 close or a non-resumable server close (4009) ends the session; a drop does not', async () => {
    const a = await identified();
    a.c.close(1000);
    await a.c.closed;
    assert.equal((await resume(a.ready.d.session_id, lastSeq(a.c))).answer.op, 9);

    // No heartbeats on this one: the sim closes it with 4009.
    const c = new RawGatewayClient(ws);
    clients.push(c);
    await c.next((f) => f.op === 10);
    c.identify(DEFAULT_TOKEN, { intents: GUILDS });
    const ready = await c.dispatch('READY');
    assert.equal((await c.closed).code, 4009);
    assert.equal((await resume(ready.d.session_id, lastSeq(c))).answer.op, 9);

    const d = await identified();
    d.c.terminate();
    assert.equal((await resume(d.ready.d.session_id, lastSeq(d.c))).answer.t, 'RESUMED');
  });

  it('REQUEST_GUILD_MEMBERS: all members with nonce, user_ids with not_found, query prefix, RATE_LIMITED', async () => {
    const { c } = await identified(GUILDS | GUILD_MEMBERS | GUILD_PRESENCES);
    const guild = (await c.dispatch('GUILD_CREATE')).d as { id: string; member_count: number; members: { user: { id: string; username: string } }[] };
    const chunk = (nonce: string) => c.next((f) => f.t === 'GUILD_MEMBERS_CHUNK' && f.d.nonce === nonce);

    c.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, presences: true, nonce: 'all' } });
    const all = await chunk('all');
    assert.equal(all.d.members.length, guild.member_count);
    assert.deepEqual([all.d.chunk_index, all.d.chunk_count], [0, 1]);
    assert.ok(Array.isArray(all.d.presences));

    const known = guild.members[0]!.user;
    c.send({ op: 8, d: { guild_id: guild.id, user_ids: [known.id, '1'], nonce: 'ids' } });
    const ids = await chunk('ids');
    assert.deepEqual(ids.d.members.map((m: { user: { id: string } }) => m.user.id), [known.id]);
    assert.deepEqual(ids.d.not_found, ['1']);
    assert.equal(ids.d.presences, undefined, 'presences only when asked');

    const prefix = known.username.slice(0, 2);
    c.send({ op: 8, d: { guild_id: guild.id, query: prefix, limit: 5, nonce: 'q' } });
    const q = await chunk('q');
    assert.ok(q.d.members.length >= 1 && q.d.members.length <= 5);
    for (const m of q.d.members as { user: { username: string }; nick?: string }[]) {
      assert.ok([m.user.username, m.nick ?? ''].some((n) => n.toLowerCase().startsWith(prefix.toLowerCase())));
    }

    c.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'again' } });
    const limited = await c.dispatch('RATE_LIMITED');
    assert.equal(limited.d.opcode, 8);
    assert.ok(limited.d.retry_after > 0 && limited.d.retry_after <= 30);
    assert.deepEqual(limited.d.meta, { guild_id: guild.id, nonce: 'again' });

    c.send({ op: 8, d: { guild_id: guild.id, user_ids: [known.id], nonce: 'n'.repeat(33) } });
    const unnamed = await c.next((f) => f.t === 'GUILD_MEMBERS_CHUNK' && f.d.nonce === undefined);
    assert.equal(unnamed.d.members.length, 1, 'an over-long nonce is dropped, the request still served');
  });

  it('PRESENCE_UPDATE (op 3) reaches sessions with GUILD_PRESENCES', async () => {
    const watcher = await identified(GUILDS | GUILD_PRESENCES);
    const { c } = await identified(GUILDS);
    c.send({ op: 3, d: { since: null, activities: [{ name: 'sim', type: 0 }], status: 'dnd', afk: false } });
    const presence: RawFrame = await watcher.c.next((f) => f.t === 'PRESENCE_UPDATE' && f.d.status === 'dnd');
    assert.equal(presence.d.user.id, watcher.ready.d.user.id);
    assert.equal(c.frames.some((f) => f.t === 'PRESENCE_UPDATE'), false, 'not without the intent');
  });

  it('IDENTIFY compress: true sends binary zlib payloads; a bad large_threshold closes 4002', async () => {
    const { c } = await identified(GUILDS, { compress: true });
    // The helper inflates binary frames; READY and GUILD_CREATE arrived through it.
    await c.dispatch('GUILD_CREATE');
    assert.ok(c.binaryMessages >= 2, `binary messages: ${c.binaryMessages}`);
    const bad = await connect();
    bad.identify(DEFAULT_TOKEN, { large_threshold: 300 });
    const closed = await bad.closed;
    assert.deepEqual([closed.code, /large_threshold/.test(closed.reason)], [4002, true]);
  });

  it('large_threshold: above it, GUILD_CREATE is large and leaves offline members out', async () => {
    const guilds = (await (await fetch(`${base}/_sim/guilds`)).json()) as { id: string; member_count: number }[];
    const guild = guilds[1]!;
    for (let i = guild.member_count; i <= 55; i++) {
      const user = (await post('/_sim/users', { username: `joiner${i}` })) as { id: string };
      await post(`/_sim/guilds/${guild.id}/members`, { user_id: user.id });
    }
    const created = async (threshold?: number) => {
      const { c } = await identified(GUILDS | GUILD_MEMBERS | GUILD_PRESENCES, threshold === undefined ? {} : { large_threshold: threshold });
      return (await c.next((f) => f.t === 'GUILD_CREATE' && f.d.id === guild.id)).d as {
        large: boolean; member_count: number; members: { user: { id: string } }[]; presences: { user: { id: string }; status: string }[];
      };
    };
    const small = await created(250);
    assert.equal(small.large, false);
    assert.equal(small.members.length, small.member_count);
    const large = await created();
    assert.equal(large.large, true);
    const online = new Set(large.presences.filter((p) => p.status !== 'offline').map((p) => p.user.id));
    const others = large.members.filter((m) => !online.has(m.user.id));
    assert.ok(large.members.length < large.member_count, `${large.members.length} of ${large.member_count} members`);
    assert.ok(others.length <= 1, 'only online members (and the bot)');
  });

  it('intents: the bot\'s own GUILD_MEMBER_UPDATE arrives without GUILD_MEMBERS, others do not; IDENTIFY presence applies', async () => {
    const watcher = await identified(GUILDS | GUILD_PRESENCES);
    const { c, ready } = await identified(GUILDS, { presence: { status: 'idle', since: null, activities: [], afk: false } });
    const presence = await watcher.c.next((f) => f.t === 'PRESENCE_UPDATE' && f.d.status === 'idle');
    assert.equal(presence.d.user.id, ready.d.user.id);

    const guild = (await c.dispatch('GUILD_CREATE')).d as { id: string; owner_id: string };
    // The owner (acting through the control API) renames a member, then the bot.
    const patch = async (userId: string, body: unknown) =>
      (await fetch(`${base}/_sim/act`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: guild.owner_id, method: 'PATCH', path: `/guilds/${guild.id}/members/${userId}`, body }),
      })).status;
    const members = (await (await fetch(`${base}/_sim/guilds/${guild.id}/state`)).json()) as { members: { user: { id: string; bot?: boolean } }[] };
    const human = members.members.find((m) => !m.user.bot && m.user.id !== guild.owner_id)!;
    assert.equal(await patch(human.user.id, { nick: 'someone' }), 200);
    assert.equal(await patch(ready.d.user.id, { nick: 'simbot' }), 200);
    const update = await c.dispatch('GUILD_MEMBER_UPDATE');
    assert.equal(update.d.user.id, ready.d.user.id);
    assert.equal(c.frames.filter((f) => f.t === 'GUILD_MEMBER_UPDATE').length, 1);
  });
});
