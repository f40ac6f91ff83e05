// internal/gateway: routing, IDENTIFY field checks, the close-code policy, the identify
// limiter on a virtual clock, and zlib-stream / payload compression round trips.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, createInflate, inflateSync } from 'node:zlib';
import { parseClientFrame, sendProblem } from '../../internal/gateway/client-payloads';
import { IdentifyLimiter } from '../../internal/gateway/identify-limiter';
import {
  checkIntents,
  CLOSE_CODES,
  closePolicy,
  GatewayCloseCodes,
  intentsAllow,
  parseShard,
  PRIVILEGED_INTENTS,
  shardFor,
} from '../../internal/gateway/protocol';
import { deflatePayload, ZlibStreamWriter } from '../../internal/gateway/zlib-stream';

describe('gateway protocol', () => {
  it('routes guilds by (id >> 22) % shards, exactly for 64-bit ids', () => {
    // 2^63 - 1 loses precision as a double; BigInt keeps it.
    const id = '9223372036854775807';
    assert.equal(shardFor(id, 7), Number((BigInt(id) >> 22n) % 7n));
    assert.equal(shardFor('41771983423143937', 4), Number((41771983423143937n >> 22n) % 4n));
    assert.equal(shardFor(undefined, 4), 0);
    assert.equal(shardFor('not-a-snowflake', 4), 0);
  });

  it('validates IDENTIFY shard arrays', () => {
    assert.deepEqual(parseShard(undefined), [0, 1]);
    assert.deepEqual(parseShard([3, 4]), [3, 4]);
    for (const bad of [[4, 4], [-1, 2], [0, 0], [1.5, 2], ['0', '1'], [0], 'x', [0, 1, 2]]) {
      assert.equal(parseShard(bad), undefined, JSON.stringify(bad));
    }
  });

  it('classifies intents: unknown bits 4013, privileged not enabled 4014', () => {
    assert.equal(checkIntents(1 | 512, 0), undefined);
    assert.equal(checkIntents(1 << 30, PRIVILEGED_INTENTS), 4013);
    assert.equal(checkIntents(2 ** 33, PRIVILEGED_INTENTS), 4013);
    assert.equal(checkIntents(-1, PRIVILEGED_INTENTS), 4013);
    assert.equal(checkIntents(1 << 15, 0), 4014);
    assert.equal(checkIntents(1 << 15, 1 << 15), undefined);
    assert.equal(checkIntents(1 << 1, 1 << 15), 4014);
  });

  it('maps events to intents', () => {
    assert.equal(intentsAllow('MESSAGE_CREATE', 1), false);
    assert.equal(intentsAllow('MESSAGE_CREATE', 1 << 9), true);
    assert.equal(intentsAllow('MESSAGE_CREATE', 1 << 12), true, 'DIRECT_MESSAGES also suffices');
    assert.equal(intentsAllow('INTERACTION_CREATE', 0), true);
  });

  it('has one policy per Discord close code, matching the docs', () => {
    const codes = Object.values(GatewayCloseCodes).filter((v): v is number => typeof v === 'number');
    for (const code of codes) assert.ok(CLOSE_CODES[code], `policy for ${code}`);
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) assert.equal(closePolicy(code).fatal, true, String(code));
    for (const code of [4000, 4001, 4002]) assert.equal(closePolicy(code).resumable, true, String(code));
    // Discord: 4007 and 4009 need a new session.
    for (const code of [4007, 4009]) assert.deepEqual([closePolicy(code).reconnect, closePolicy(code).resumable], [true, false]);
    assert.equal(closePolicy(1000).resumable, false);
    assert.equal(closePolicy(1006).resumable, true);
  });
});

describe('IdentifyLimiter', () => {
  it('allows one identify per bucket per interval and counts the daily budget', () => {
    let now = 0;
    const limiter = new IdentifyLimiter(2, 5_000, 3, () => now);
    assert.equal(limiter.tryIdentify(0), true);
    assert.equal(limiter.tryIdentify(1), true, 'another bucket');
    assert.equal(limiter.tryIdentify(2), false, 'bucket 0 again within the interval');
    assert.equal(limiter.waitMs(2), 5_000);
    now = 4_999;
    assert.equal(limiter.tryIdentify(2), false);
    now = 5_000;
    assert.equal(limiter.tryIdentify(2), true);
    assert.deepEqual(limiter.sessionStartLimit(), { total: 3, remaining: 0, reset_after: 86_400_000 - 5_000, max_concurrency: 2 });
    now = 20_000;
    assert.equal(limiter.tryIdentify(1), false, 'budget spent');
    now = 86_400_000;
    assert.equal(limiter.tryIdentify(1), true, 'budget resets after a day');
    assert.equal(limiter.sessionStartLimit().remaining, 2);
  });

  it('waitForIdentify queues until the bucket frees and honours abort', async () => {
    const limiter = new IdentifyLimiter(1, 60, 10);
    const started = Date.now();
    await limiter.waitForIdentify(0);
    await limiter.waitForIdentify(1);
    assert.ok(Date.now() - started >= 55, 'second identify waited for the interval');
    const controller = new AbortController();
    const pending = limiter.waitForIdentify(0, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  });

  it('rejects a max_concurrency below 1', () => {
    assert.throws(() => new IdentifyLimiter(0, 5_000), /max_concurrency/);
  });
});

describe('zlib-stream', () => {
  it('writes one deflate stream whose messages each end with 00 00 ff ff and inflate in order', async () => {
    const writer = new ZlibStreamWriter();
    const messages = Array.from({ length: 20 }, (_, i) => JSON.stringify({ op: 0, s: i, t: 'X', d: { i, pad: 'y'.repeat(i * 50) } }));
    const chunks = await Promise.all(messages.map((m) => writer.write(m)));
    writer.close();
    const inflate = createInflate({ flush: constants.Z_SYNC_FLUSH });
    const out: string[] = [];
    for (const chunk of chunks) {
      assert.deepEqual([...chunk.subarray(-4)], [0, 0, 0xff, 0xff]);
      out.push(await new Promise<string>((resolve) => {
        const parts: Buffer[] = [];
        const onData = (c: Buffer) => parts.push(c);
        inflate.on('data', onData);
        inflate.write(chunk, () => setImmediate(() => (inflate.off('data', onData), resolve(Buffer.concat(parts).toString()))));
      }));
    }
    assert.deepEqual(out, messages);
    // The shared context makes later repeats cheaper than the first message.
    assert.ok(chunks[19]!.length < Buffer.byteLength(messages[19]!));
  });

  it('compresses a single payload for IDENTIFY compress: true', () => {
    const text = JSON.stringify({ op: 0, d: { a: 'b'.repeat(1000) } });
    assert.equal(inflateSync(deflatePayload(text)).toString(), text);
  });
});

describe('client frames with numeric snowflakes (discord.py sends them)', () => {
  it('keeps an integer too big for a double exact, as a string, and only outside strings', () => {
    const frame = parseClientFrame('{"op":8,"d":{"guild_id":1234567890123456789,"query":"a\\":1234567890123456789","limit":0,"x":[1.5,1e5]}}');
    assert.deepEqual(frame, { op: 8, d: { guild_id: '1234567890123456789', query: 'a":1234567890123456789', limit: 0, x: [1.5, 100000] } });
  });

  it('accepts a numeric snowflake where Discord does', () => {
    const d = parseClientFrame('{"guild_id":1234567890123456789,"channel_id":null,"self_mute":false,"self_deaf":false}');
    assert.equal(sendProblem(4, d), undefined);
    assert.equal(sendProblem(8, parseClientFrame('{"guild_id":81384788765712384,"query":"","limit":0}')), undefined);
    assert.equal(sendProblem(8, { guild_id: 4177198342314, query: '', limit: 0 }), undefined);
    assert.match(sendProblem(8, { guild_id: -1, query: '', limit: 0 }) ?? '', /guild_id/);
  });
});
