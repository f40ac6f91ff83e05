// Member-restore tokens at rest: AES-256-GCM under meta.oauth_token_key, bound to their user and
// field; the key is validated at config load and never shown.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { ConfigError, parseConfig } from '../../internal/config';
import { TokenCipher } from '../../internal/member-restore/token-cipher';
import { ROOT } from '../helpers/process';

const KEY = 'k'.repeat(40);

describe('member-restore token cipher', () => {
  it('seals a token so it reads back only with the same key, user and field', () => {
    const cipher = new TokenCipher(KEY);
    const sealed = cipher.seal('111', 'access_token', 'the-access-token');
    assert.ok(!sealed.includes(Buffer.from('the-access-token')), 'no plaintext in the ciphertext');
    assert.notDeepEqual(cipher.seal('111', 'access_token', 'the-access-token'), sealed, 'a fresh IV each time');
    assert.equal(cipher.open('111', 'access_token', sealed), 'the-access-token');
    assert.throws(() => cipher.open('222', 'access_token', sealed), /stored access_token of user 222 does not decrypt with meta\.oauth_token_key/);
    assert.throws(() => cipher.open('111', 'refresh_token', sealed), /does not decrypt/);
    assert.throws(() => new TokenCipher('j'.repeat(40)).open('111', 'access_token', sealed), /does not decrypt/);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    assert.throws(() => cipher.open('111', 'access_token', tampered), /does not decrypt/);
    assert.equal(JSON.stringify({ cipher }), '{"cipher":"TokenCipher <redacted>"}');
  });

  it('meta.oauth_token_key: the example has one; a short one is refused without showing it', () => {
    const example = readFileSync(`${ROOT}/config.yaml.example`, 'utf8');
    assert.equal(parseConfig(example, { environ: {} }).config.meta.oauth_token_key?.length, 46);
    const doc = YAML.parseDocument(example);
    doc.setIn(['meta', 'oauth_token_key'], 'short-key-123');
    try {
      parseConfig(doc.toString(), { environ: {} });
      assert.fail('a short key was accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, ['config.yaml: meta.oauth_token_key: must be a secret of at least 32 characters, got <redacted, 13 characters>']);
    }
    doc.deleteIn(['meta', 'oauth_token_key']);
    assert.equal(parseConfig(doc.toString(), { environ: {} }).config.meta.oauth_token_key, undefined, 'unset: member restore is off');
  });
});
