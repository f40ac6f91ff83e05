// The sim writes an audit-log entry, with the acting user and the X-Audit-Log-Reason, for the
// REST actions the limits count, and sends it as GUILD_AUDIT_LOG_ENTRY_CREATE (GUILD_MODERATION).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import { AuditLogEvent, OverwriteType, Routes } from 'discord-api-types/v10';
import pino from 'pino';
import type { SimDispatch } from '../../internal/sim/contract';
import { createEmoji } from '../../internal/sim/guild-entities';
import { createSimServer, type SimServer } from '../../internal/sim/server';
import { DEFAULT_TOKEN } from '../../internal/sim/world';

describe('sim audit log of REST actions', () => {
  let server: SimServer;
  let rest: REST;
  let guildId: string;
  const dispatched: SimDispatch[] = [];
  before(async () => {
    server = await createSimServer({ host: '127.0.0.1', port: 0, guilds: 1, shards: 1, maxConcurrency: 1, identifyIntervalMs: 0, seed: 5, logger: pino({ level: 'silent' }) });
    rest = new REST({ api: `${server.url}/api` }).setToken(DEFAULT_TOKEN);
    guildId = server.world.guildIds()[0]!;
    server.world.on('dispatch', (d: SimDispatch) => dispatched.push(d));
  });
  after(() => server.close());

  const lastEntry = () => server.world.guilds.get(guildId)!.audit[0]!;

  it('channel update/delete, overwrites, webhook create and emoji delete each make an entry with the reason', async () => {
    const bot = server.world.botUser.id;
    const channel = (await rest.post(Routes.guildChannels(guildId), { body: { name: 'audited' } })) as { id: string };
    const steps: [() => Promise<unknown>, AuditLogEvent][] = [
      [() => rest.patch(Routes.channel(channel.id), { body: { topic: 't' }, reason: 'tidy up' }), AuditLogEvent.ChannelUpdate],
      [() => rest.put(Routes.channelPermission(channel.id, guildId), { body: { type: OverwriteType.Role, deny: '64' }, reason: 'tidy up' }), AuditLogEvent.ChannelOverwriteCreate],
      [() => rest.put(Routes.channelPermission(channel.id, guildId), { body: { type: OverwriteType.Role, deny: '2048' }, reason: 'tidy up' }), AuditLogEvent.ChannelOverwriteUpdate],
      [() => rest.delete(Routes.channelPermission(channel.id, guildId), { reason: 'tidy up' }), AuditLogEvent.ChannelOverwriteDelete],
      [() => rest.post(Routes.channelWebhooks(channel.id), { body: { name: 'hook' }, reason: 'tidy up' }), AuditLogEvent.WebhookCreate],
      [() => rest.delete(Routes.channel(channel.id), { reason: 'tidy up' }), AuditLogEvent.ChannelDelete],
    ];
    for (const [step, action] of steps) {
      const before = dispatched.length;
      await step();
      const entry = lastEntry();
      assert.equal(entry.action_type, action, AuditLogEvent[action]);
      assert.equal(entry.user_id, bot);
      assert.equal(entry.reason, 'tidy up', AuditLogEvent[action]);
      const sent = dispatched.slice(before).find((d) => d.t === 'GUILD_AUDIT_LOG_ENTRY_CREATE');
      assert.ok(sent, `GUILD_AUDIT_LOG_ENTRY_CREATE for ${AuditLogEvent[action]}`);
      assert.equal(sent.intents, 1 << 2, 'sent under GUILD_MODERATION');
    }
    // A deletion lists the deleted channel's fields as old values, as Discord's entries do.
    const deleted = lastEntry().changes!;
    assert.ok(['name', 'type', 'permission_overwrites', 'nsfw', 'rate_limit_per_user'].every((k) => deleted.some((c) => c.key === k)), JSON.stringify(deleted));
    assert.ok(deleted.every((c) => 'old_value' in c && !('new_value' in c)));
  });

  it('/_sim/act acts as the user, with their permissions and the reason', async () => {
    const g = server.world.guilds.get(guildId)!;
    const owner = g.guild.owner_id;
    const emoji = createEmoji(server.world, g, owner, 'doomed');
    const act = (userId: string) =>
      fetch(`${server.url}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, method: 'DELETE', path: `/guilds/${guildId}/emojis/${emoji.id}`, reason: 'no more' }) });
    const plain = [...g.members.values()].find((m) => !m.user.bot && m.roles.length === 0 && m.user.id !== owner)!;
    assert.equal((await act(plain.user.id)).status, 403, 'a member without Manage Expressions is refused');
    assert.equal((await act(owner)).status, 204);
    const entry = lastEntry();
    assert.deepEqual([entry.action_type, entry.user_id, entry.target_id, entry.reason], [AuditLogEvent.EmojiDelete, owner, emoji.id, 'no more']);
  });

  it('a bot DMs only users it shares a guild with (50007 otherwise)', async () => {
    const g = server.world.guilds.get(guildId)!;
    const member = [...g.members.values()].find((m) => !m.user.bot)!.user.id;
    const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: member } })) as { id: string; type: number; recipients: { id: string }[] };
    assert.deepEqual([dm.type, dm.recipients.map((r) => r.id)], [1, [member]]);
    await rest.post(Routes.channelMessages(dm.id), { body: { content: 'hello' } });
    const seen = (await (await fetch(`${server.url}/_sim/users/${member}/dms`)).json()) as { content: string }[];
    assert.deepEqual(seen.map((m) => m.content), ['hello']);
    const stranger = (await (await fetch(`${server.url}/_sim/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'stranger' }) })).json()) as { id: string };
    await assert.rejects(rest.post(Routes.userChannels(), { body: { recipient_id: stranger.id } }), (e: { status: number; code: number }) => e.status === 403 && e.code === 50007);
  });
});
