// What a restore may grant and how it addresses avatars (issue #12): Discord refuses permissions
// the bot lacks (50013), and webhook avatar_url takes a URL, not a hash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermissionFlagsBits as P } from 'discord-api-types/v10';
import { avatarUrl } from '../../jobs/tasks/avatar-url';
import { grantable, permissionNames } from '../../jobs/tasks/grantable';

describe('restore grants', () => {
  it('keeps only the permissions the bot holds, naming the rest', () => {
    const grant = grantable(P.ViewChannel | P.SendMessages | P.ManageRoles, false);
    assert.deepEqual(grant((P.Administrator | P.ViewChannel).toString()), { kept: P.ViewChannel.toString(), dropped: ['Administrator'] });
    assert.deepEqual(grant((P.SendMessages | P.ManageRoles).toString()), { kept: (P.SendMessages | P.ManageRoles).toString(), dropped: [] });
    assert.deepEqual(grant('0'), { kept: '0', dropped: [] });
  });

  it('grants everything for an owner or Administrator', () => {
    assert.deepEqual(grantable(0n, true)(P.Administrator.toString()), { kept: P.Administrator.toString(), dropped: [] });
  });

  it('names unknown bits by their value', () => {
    assert.deepEqual(permissionNames(P.BanMembers | (1n << 62n)), ['BanMembers', '0x4000000000000000']);
  });
});

describe('avatar URLs', () => {
  const cdn = 'https://cdn.discordapp.com';
  it('builds the CDN address of a hash, animated as gif', () => {
    assert.equal(avatarUrl(cdn, { id: '80351110224678912', avatar: '8342729096ea3675442027381ff50dfe' }), `${cdn}/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png`);
    assert.equal(avatarUrl(cdn, { id: '80351110224678912', avatar: 'a_1269e74af4df7417b13759eae50c83dc' }), `${cdn}/avatars/80351110224678912/a_1269e74af4df7417b13759eae50c83dc.gif`);
  });
  it('falls back to the default avatar of the id', () => {
    assert.equal(avatarUrl(cdn, { id: '80351110224678912', avatar: null }), `${cdn}/embed/avatars/${(80351110224678912n >> 22n) % 6n}.png`);
  });
});
