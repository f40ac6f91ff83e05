// Counts every audit-log entry (GUILD_AUDIT_LOG_ENTRY_CREATE, which carries the acting user)
// against the guild's limits and punishes whoever goes over one; a rule with `revert` then
// recreates what the user deleted (./revert.ts). The guild owner, the bot and exempt users or
// roles are never punished.
import type { Guild, GuildAuditLogsEntry } from 'discord.js';
import { postModlog } from '../moderation/modlog';
import type { CommandContext } from '../types';
import { DeletedCache } from './deleted-cache';
import { kindOf } from './kinds';
import { exemption, punish } from './punish';
import { DeletedByUser, recreate, snapshotOf } from './revert';
import { type LimitKind, type LimitRule, limitsSettings, REVERTIBLE_KINDS } from './settings';
import { LimitWindows } from './window';

interface Detector {
  ctx: CommandContext;
  windows: LimitWindows;
  cache: DeletedCache;
  deleted: DeletedByUser;
}

export function watchAuditLog(ctx: CommandContext): void {
  let warned = 0;
  const windows = new LimitWindows(ctx.redis, ctx.keyPrefix, (err) => {
    // One line a minute at most: under a raid every entry would say it.
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    ctx.logger.warn({ err: err.message }, 'Redis unavailable: limits counted in this cluster\'s memory');
  });
  const cache = new DeletedCache();
  cache.listen(ctx.client);
  const d: Detector = { ctx, windows, cache, deleted: new DeletedByUser() };
  // The event's name, not discord.js's Events enum: the command list loads without discord.js.
  ctx.client.on('guildAuditLogEntryCreate', (entry, guild) => {
    onEntry(d, entry, guild).catch((err: Error) =>
      ctx.logger.error({ err: err.message, guild_id: guild.id, entry_id: entry.id }, 'audit-log entry not checked against the limits'),
    );
  });
}

async function onEntry(d: Detector, entry: GuildAuditLogsEntry, guild: Guild): Promise<void> {
  const { ctx, windows } = d;
  const userId = entry.executorId;
  if (!userId || userId === ctx.client.user?.id || userId === guild.ownerId) return;
  const changes = entry.changes.map((c) => ({ key: c.key, new: c.new, old: c.old }));
  const kind = kindOf(entry.action, changes, (roleId) => guild.roles.cache.get(roleId)?.permissions.bitfield);
  if (!kind) return;
  const settings = await ctx.settings.get(guild.id, 'limits', limitsSettings);
  const rules = settings.rules.filter((r) => r.kind === kind);
  const reverting = rules.filter((r) => r.revert && REVERTIBLE_KINDS.includes(kind));
  if (reverting.length && entry.targetId) {
    const snapshot = snapshotOf(guild, kind === 'channel_delete' ? 'channel' : 'role', entry.targetId, changes, d.cache);
    if (snapshot) d.deleted.remember(guild.id, userId, snapshot, Math.max(...reverting.map((r) => r.seconds)) * 1000);
  }
  for (const rule of rules) {
    const count = await windows.hit(guild.id, rule.id, userId, entry.id, entry.createdTimestamp, rule.seconds);
    if (count <= rule.count) continue;
    const { member, exempt } = await exemption(guild, userId, settings);
    if (exempt) return;
    if (await windows.claimPunishment(guild.id, userId, rule.seconds)) {
      const recorded = await punish(ctx, guild, userId, member, rule);
      const outcome = recorded.state === 'recorded' ? recorded.case.state : 'pending';
      ctx.logger.info({ guild_id: guild.id, user_id: userId, rule: rule.id, kind, count, outcome }, 'limit exceeded');
    }
    // Also after the claim: deletions that were already on their way when the punishment landed.
    if (rule.revert) await revert(d, guild, userId, rule, kind);
    return;
  }
}

async function revert(d: Detector, guild: Guild, userId: string, rule: LimitRule, kind: LimitKind): Promise<void> {
  if (!REVERTIBLE_KINDS.includes(kind)) return;
  const snapshots = d.deleted.take(guild.id, userId, rule.seconds * 1000);
  if (!snapshots.length) return;
  const lines = await recreate(d.ctx, guild, snapshots, `limits rule #${rule.id}: revert`);
  d.ctx.logger.info({ guild_id: guild.id, user_id: userId, rule: rule.id, recreated: lines }, 'limit reverted');
  await postModlog(d.ctx, guild.id, `Reverted what <@${userId}> deleted (limits rule #${rule.id}): ${lines.join('; ')}`);
}
