import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sign, verify } from '../../jobs/storage';
import { type Backup, decode, encode } from '../../jobs/tasks/archive';

const backup: Backup = {
  options: { messages_per_channel: 10 },
  guild: { id: '1', name: 'G' },
  roles: [{ id: '1', name: '@everyone', position: 0, permissions: '0', color: 0, hoist: false, mentionable: false, managed: false }],
  channels: [{ id: '2', name: 'general', type: 0, position: 0, parent_id: null, permission_overwrites: [{ id: '1', type: 0, allow: '0', deny: '1024' }] }],
  messages: { '2': [{ id: '3', content: 'hi', author: { id: '4', username: 'ada', avatar: null }, timestamp: '2026-01-01T00:00:00.000Z' }] },
  meta: { guild_id: '1', created_at: '2026-01-01T00:00:00.000Z', message_count: 1 },
};

describe('backup archive', () => {
  it('round-trips a plain archive', () => {
    assert.deepEqual(decode(encode(backup)), backup);
  });

  it('encrypts with AES-256-GCM from a password; the wrong password is refused', () => {
    const file = encode(backup, 'correct horse battery staple');
    assert.doesNotMatch(file.toString(), /general|ada/);
    assert.deepEqual(decode(file, 'correct horse battery staple'), backup);
    assert.throws(() => decode(file, 'wrong'), /wrong password/);
    assert.throws(() => decode(file), /a password is needed/);
  });

  it('refuses a file that is not an archive', () => {
    assert.throws(() => decode(Buffer.from('{"format":"zip"}')), /not a splashtail-backup\/1 archive/);
  });

  it('signs download links that expire', () => {
    const expires = Date.now() + 60_000;
    const signature = sign('s'.repeat(32), 'task', expires);
    assert.equal(verify('s'.repeat(32), 'task', expires, signature), 'ok');
    assert.equal(verify('s'.repeat(32), 'other', expires, signature), 'bad signature');
    assert.equal(verify('s'.repeat(32), 'task', expires, signature, expires + 1), 'expired');
  });
});
