// The guild state's packed entities come back byte for byte, whatever they hold: strings that
// look like the fragments, every control character JSON escapes, non-ASCII and lone surrogates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FRAGMENTS, pack, unpack } from '../../proxy/entity-codec';

const member = { user: { id: '1323803303917780992', username: 'user34516', discriminator: '0', global_name: 'User 34516', avatar: 'd42eba4e75f8342a4c0e00d942ccd4db' }, roles: [], nick: null, avatar: null, banner: null, joined_at: '2026-01-01T00:00:00.000Z', premium_since: null, deaf: false, mute: false, flags: 0, pending: false, communication_disabled_until: null };

describe('entity codec', () => {
  it('packs a member to under half its JSON and unpacks it exactly', () => {
    const json = JSON.stringify(member);
    const packed = pack(json);
    assert.ok(packed.length * 2 < json.length, `${packed.length} of ${json.length}`);
    assert.equal(unpack(packed), json);
  });

  it('packs every fragment to its own code and back, next to any other', () => {
    const all = FRAGMENTS.join('x');
    assert.ok(pack(all).length < FRAGMENTS.length * 4, 'every fragment packed');
    assert.equal(unpack(pack(all)), all);
    for (const a of FRAGMENTS) for (const b of FRAGMENTS) assert.equal(unpack(pack(a + b)), a + b, `${a} ${b}`);
  });

  it('round-trips values that contain fragments, control characters and any code unit', () => {
    const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
    const values = ['null', 'nullfalsetrue', '","username":"', ',"nick":null', controls, `${controls}{"user":{"id":"`, 'é😀\ud800\udfff\ud800', '\u001f \u001f!', ''];
    for (const v of values) {
      const json = JSON.stringify({ ...member, nick: v, user: { ...member.user, username: v, global_name: v } });
      assert.equal(unpack(pack(json)), json, JSON.stringify(v));
    }
  });
});
