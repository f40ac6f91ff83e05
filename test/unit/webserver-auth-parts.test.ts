// The webserver's small security parts on their own: the token box (AES-256-GCM), the Manage
// Server rule computed from a guild's roles, the cookies' attributes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type APIRole, PermissionFlagsBits } from 'discord-api-types/v10';
import type { Config } from '../../internal/config';
import { cookieAttributes } from '../../webserver/auth';
import { canManageGuild } from '../../webserver/discord';
import { tokenBox } from '../../webserver/token-box';

describe('token box', () => {
  const box = tokenBox('a-client-secret-of-some-length-0123456789');

  it('opens what it sealed, and nothing else', () => {
    const sealed = box.seal('access-token-123');
    assert.equal(sealed.includes('access-token-123'), false);
    assert.notEqual(box.seal('access-token-123'), sealed, 'a fresh IV each time');
    assert.equal(box.open(sealed), 'access-token-123');
    const [iv, tag, data] = sealed.split('.') as [string, string, string];
    const flipped = `${data[0] === 'A' ? 'B' : 'A'}${data.slice(1)}`;
    for (const bad of [`${iv}.${tag}.${flipped}`, `${iv}.${tag}`, 'x.y.z', '', '...', `${iv}.${tag.slice(2)}.${data}`]) assert.equal(box.open(bad), undefined, bad);
    assert.equal(tokenBox('another-client-secret-0123456789abcdef').open(sealed), undefined, 'another key');
  });
});

describe('Manage Server from roles', () => {
  const guild = (roles: [string, bigint][]) => ({
    id: '100000000000000001', owner_id: '200000000000000001',
    roles: roles.map(([id, bits]) => ({ id, permissions: bits.toString() }) as APIRole),
  });
  const everyone = '100000000000000001';
  const mod = '300000000000000001';
  const user = '200000000000000002';

  it('owner, Administrator or Manage Guild (from any held role or @everyone) grant it', () => {
    assert.equal(canManageGuild(guild([[everyone, 0n]]), { roles: [] }, '200000000000000001'), true, 'owner');
    assert.equal(canManageGuild(guild([[everyone, 0n], [mod, PermissionFlagsBits.ManageGuild]]), { roles: [mod] }, user), true);
    assert.equal(canManageGuild(guild([[everyone, 0n], [mod, PermissionFlagsBits.Administrator]]), { roles: [mod] }, user), true);
    assert.equal(canManageGuild(guild([[everyone, PermissionFlagsBits.ManageGuild]]), { roles: [] }, user), true);
  });

  it('other permissions, or a role the member does not hold, do not', () => {
    const g = guild([[everyone, PermissionFlagsBits.SendMessages], [mod, PermissionFlagsBits.ManageGuild | PermissionFlagsBits.BanMembers]]);
    assert.equal(canManageGuild(g, { roles: [] }, user), false);
    assert.equal(canManageGuild(guild([[everyone, 0n], [mod, PermissionFlagsBits.ManageRoles | PermissionFlagsBits.ManageChannels]]), { roles: [mod] }, user), false);
  });
});

describe('cookie attributes', () => {
  const config = (frontend: string, api: string) => ({ sites: { frontend, api } }) as Config;

  it('HttpOnly (but the csrf cookie), SameSite=Lax, Secure when the site is https', () => {
    assert.equal(cookieAttributes(config('http://127.0.0.1:3010/', 'http://127.0.0.1:3010'), 60), 'HttpOnly; SameSite=Lax; Path=/; Max-Age=60');
    assert.equal(cookieAttributes(config('https://example.org/', 'http://127.0.0.1:3010'), 60), 'HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure');
    assert.equal(cookieAttributes(config('http://127.0.0.1/', 'https://api.example.org'), 0, false), 'SameSite=Lax; Path=/; Max-Age=0; Secure');
  });
});
