// Which audit-log entries count towards which limit kind: a member role update only when the
// granted role carries a dangerous permission.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditLogEvent, PermissionFlagsBits } from 'discord-api-types/v10';
import { kindOf } from '../../bot/modules/limits/kinds';

const roles: Record<string, bigint> = { '1': PermissionFlagsBits.SendMessages, '2': PermissionFlagsBits.Administrator, '3': PermissionFlagsBits.BanMembers };
const perms = (id: string) => roles[id];
const added = (...ids: string[]) => [{ key: '$add', new: ids.map((id) => ({ id, name: `r${id}` })) }];

describe('limit kinds of audit-log entries', () => {
  it('maps the counted actions', () => {
    assert.equal(kindOf(AuditLogEvent.ChannelDelete, [], perms), 'channel_delete');
    assert.equal(kindOf(AuditLogEvent.ChannelOverwriteCreate, [], perms), 'channel_update');
    assert.equal(kindOf(AuditLogEvent.WebhookCreate, [], perms), 'webhook_create');
    assert.equal(kindOf(AuditLogEvent.EmojiDelete, [], perms), 'emoji_delete');
    assert.equal(kindOf(AuditLogEvent.GuildUpdate, [], perms), 'guild_update');
    assert.equal(kindOf(AuditLogEvent.MessageDelete, [], perms), undefined);
  });

  it('counts a member role update only when it grants a dangerous permission', () => {
    assert.equal(kindOf(AuditLogEvent.MemberRoleUpdate, added('1'), perms), undefined);
    assert.equal(kindOf(AuditLogEvent.MemberRoleUpdate, added('1', '2'), perms), 'member_role_update');
    assert.equal(kindOf(AuditLogEvent.MemberRoleUpdate, added('3'), perms), 'member_role_update');
    assert.equal(kindOf(AuditLogEvent.MemberRoleUpdate, [{ key: '$remove', new: [{ id: '2' }] }], perms), undefined);
    assert.equal(kindOf(AuditLogEvent.MemberRoleUpdate, added('999'), perms), undefined, 'an unknown role grants nothing we know of');
  });
});
