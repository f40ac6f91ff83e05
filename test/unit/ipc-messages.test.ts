import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagPingSchema, parseDiagReply, parseIncoming } from '../../internal/ipc/messages';

describe('IPC message validation', () => {
  it('accepts the mewld envelope', () => {
    const launch = parseIncoming('{"scope":"launcher","action":"launch_next","args":{"id":1}}');
    assert.equal(launch.kind, 'message');
    assert.deepEqual(launch.kind === 'message' && launch.message.args, { id: 1 });
    const reply = parseIncoming(JSON.stringify({ command_id: 'c1', output: [1], scope: 'bot', action: 'statuses' }));
    assert.equal(reply.kind, 'message');
  });

  it('checks the diag ping of the process channel', () => {
    assert.deepEqual(diagPingSchema.parse({ id: 3, nonce: 'n', diag: true }), { id: 3, nonce: 'n', diag: true });
    for (const bad of [{ diag: true }, { id: -1, nonce: 'n', diag: true }, { id: 1, nonce: '', diag: true }, { id: 1, nonce: 'n', diag: 'yes' }]) {
      assert.equal(diagPingSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  const bad: [string, RegExp][] = [
    ['', /not JSON/],
    ['{', /not JSON/],
    ['null', /not a JSON object/],
    ['[]', /not a JSON object/],
    ['"text"', /not a JSON object/],
    ['42', /not a JSON object/],
    ['{}', /scope/],
    ['{"scope":"launcher"}', /action/],
    ['{"action":"statuses"}', /scope/],
    ['{"scope":1,"action":"statuses"}', /scope/],
    ['{"scope":"launcher","action":""}', /action/],
    ['{"scope":"launcher","action":"x","args":[1]}', /args/],
    ['{"scope":"launcher","action":"x","args":"id"}', /args/],
    ['{"scope":"launcher","action":"x","command_id":5}', /command_id/],
    ['{"scope":"launcher","action":"x","extra":true}', /extra|Unrecognized/i],
    ['{"id":1,"nonce":"n","diag":true}', /scope/],
    [`{"scope":"launcher","action":"${'a'.repeat(300)}"}`, /action/],
    [`"${'x'.repeat(1_100_000)}"`, /too large/],
  ];
  for (const [raw, error] of bad) {
    it(`rejects ${raw.slice(0, 50) || '(empty)'} naming the problem`, () => {
      const result = parseIncoming(raw);
      assert.equal(result.kind, 'invalid');
      assert.match(result.kind === 'invalid' ? result.error : '', error);
    });
  }

  it('keeps the command_id and scope of an invalid request so a reply is possible (and none to a reply)', () => {
    const result = parseIncoming('{"scope":"launcher","action":7,"command_id":"abc"}');
    assert.deepEqual(result, { kind: 'invalid', error: 'action: Invalid input: expected string, received number', command_id: 'abc', scope: 'launcher' });
    const big = parseIncoming(JSON.stringify({ scope: 'launcher', action: 'statuses', command_id: 'big1', args: { pad: 'x'.repeat(1_100_000) } }));
    assert.equal(big.kind === 'invalid' && big.command_id, 'big1');
    assert.match(big.kind === 'invalid' ? big.error : '', /too large/);
    const bigReply = parseIncoming(JSON.stringify({ scope: 'bot', command_id: 'big2', output: 'x'.repeat(1_100_000) }));
    assert.equal(bigReply.kind === 'invalid' && bigReply.scope, 'bot');
  });

  it('parses diag answers as objects or mewld JSON strings, and rejects broken ones', () => {
    const data = [{ shard_id: 0, up: true, latency: 12, guilds: 3, users: 40 }];
    assert.deepEqual(parseDiagReply({ nonce: 'n', data }), { nonce: 'n', data });
    assert.deepEqual(parseDiagReply(JSON.stringify({ nonce: 'n', id: 2, data })), { nonce: 'n', id: 2, data });
    assert.match((parseDiagReply('{') as { error: string }).error, /output: not JSON/);
    assert.match((parseDiagReply({ nonce: 'n', data: [{ shard_id: 'x' }] }) as { error: string }).error, /output\.data\.0\.shard_id/);
    assert.match((parseDiagReply({ data: [] }) as { error: string }).error, /output\.nonce/);
  });
});
