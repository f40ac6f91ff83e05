// guild_member_restore: puts back into the guild every user who opted in for it (webserver
// /auth/member-restore) and is not in it, through Add Guild Member with their OAuth2 token, with
// the roles a backup saved for them where one is given (by role id, else by the name the backup
// knew, as guild_restore_backup re-creates roles), as far as the bot may grant them.
// Each user's outcome is checkpointed; a user is first looked up in the guild, so a take-over
// after a crash between the add and the checkpoint finds them there and adds nobody twice (the
// add itself answers 204 for a member, too). Rate limits are @discordjs/rest's.
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { PermissionFlagsBits, type RESTPutAPIGuildMemberJSONBody, Routes } from 'discord-api-types/v10';
import { NotAuthorized, type MemberRestoreStore } from '../../internal/member-restore/token-store';
import type { TaskContext, TaskHandler, TaskResult } from '../runner';
import type { MemberRestoreOptions } from '../task-schemas';
import { type Backup, decode } from './archive';

type Outcome = 'added' | 'present' | 'unauthorized' | 'banned';
type GuildRole = { id: string; name: string; position: number; permissions: string; managed: boolean };

interface Checkpoint {
  /** Outcome by user id, in the order handled. */
  users?: Record<string, Outcome>;
  /** Role grants left out (above the bot, or no Manage Roles), counted over the run. */
  rolesLeftOut?: number;
}

const DESCRIBE: Record<Outcome, string> = { added: 'added', present: 'already in the guild', unauthorized: 'without a valid authorization (they must opt in again)', banned: 'banned (not added)' };

/** What the bot may do in the guild: add members at all, and which roles it may give. */
async function standing(rest: REST, guildId: string): Promise<{ roles: GuildRole[]; grantable: (role: GuildRole) => boolean }> {
  const me = (await rest.get(Routes.user('@me'))) as { id: string };
  let mine: string[];
  try {
    mine = ((await rest.get(Routes.guildMember(guildId, me.id))) as { roles: string[] }).roles;
  } catch (err) {
    if (err instanceof DiscordAPIError && (err.status === 404 || err.status === 403)) throw new Error(`the bot is not in guild ${guildId} (Discord answered ${err.status} ${err.message})`);
    throw err;
  }
  const [roles, guild] = (await Promise.all([rest.get(Routes.guildRoles(guildId)), rest.get(Routes.guild(guildId))])) as [GuildRole[], { owner_id: string }];
  const held = roles.filter((r) => r.id === guildId || mine.includes(r.id));
  const perms = held.reduce((p, r) => p | BigInt(r.permissions), 0n);
  const owner = guild.owner_id === me.id;
  const admin = owner || (perms & PermissionFlagsBits.Administrator) !== 0n;
  if (!admin && !(perms & PermissionFlagsBits.CreateInstantInvite)) throw new Error('the bot needs the Create Invite permission in the guild to add members (Discord requires it)');
  const top = Math.max(0, ...held.map((r) => r.position));
  const manage = admin || (perms & PermissionFlagsBits.ManageRoles) !== 0n;
  return { roles, grantable: (role) => manage && !role.managed && role.id !== guildId && (owner || role.position < top) };
}

/** The guild's roles for a member's backed-up role ids: same id, else the backup's name. */
function roleMapper(backup: Backup, roles: GuildRole[]): (ids: string[]) => GuildRole[] {
  const names = new Map(backup.roles.map((r) => [r.id, r.name]));
  return (ids) =>
    ids.flatMap((id) => {
      const role = roles.find((r) => r.id === id) ?? roles.find((r) => !r.managed && r.name === names.get(id));
      return role ? [role] : [];
    });
}

export function memberRestore(store: MemberRestoreStore | undefined): TaskHandler {
  return async (ctx: TaskContext): Promise<TaskResult> => {
    if (!store) throw new Error('member restore is off: meta.oauth_token_key is not set on the jobserver');
    const options = (ctx.task.data ?? {}) as MemberRestoreOptions;
    const { rest, guildId } = ctx;
    const cp = ctx.checkpoint as Checkpoint;
    cp.users ??= {};
    cp.rolesLeftOut ??= 0;
    const { roles, grantable } = await standing(rest, guildId);

    const guilds = [guildId];
    let rolesOf: (userId: string) => GuildRole[] = () => [];
    if (options.backup_task_id) {
      const backup = decode(await ctx.outputOf(options.backup_task_id), options.password);
      // A backup of another guild (the owner of both asked): who opted in there comes here.
      if (backup.meta.guild_id !== guildId) guilds.push(backup.meta.guild_id);
      if (backup.members) {
        const saved = new Map(backup.members.map((m) => [m.id, m.roles]));
        const map = roleMapper(backup, roles);
        rolesOf = (userId) => map(saved.get(userId) ?? []);
      } else if (Object.keys(cp.users).length === 0) {
        await ctx.status('the backup has no member roles (made without the Server Members intent, or before they were saved): members come back without roles', { level: 'warning' });
      }
    }

    const users = await store.usersFor(guilds);
    if (Object.keys(cp.users).length === 0) await ctx.status(`${users.length} users opted in to be put back`);
    let handled = 0;
    for (const userId of users) {
      if (cp.users[userId]) continue;
      const wanted = rolesOf(userId);
      const given = wanted.filter(grantable);
      cp.users[userId] = await restoreOne(rest, store, guildId, userId, given.map((r) => r.id));
      if (cp.users[userId] === 'added') cp.rolesLeftOut += wanted.length - given.length;
      await ctx.saveCheckpoint(cp as Record<string, unknown>);
      if (++handled % 25 === 0) await ctx.status(`handled ${Object.keys(cp.users).length} of ${users.length} users`);
    }

    const counts = Object.values(cp.users).reduce<Partial<Record<Outcome, number>>>((c, o) => ({ ...c, [o]: (c[o] ?? 0) + 1 }), {});
    if (cp.rolesLeftOut) await ctx.status(`left out ${cp.rolesLeftOut} role grant(s) the bot may not give (above its highest role, managed, or no Manage Roles)`, { level: 'warning' });
    const parts = (Object.keys(DESCRIBE) as Outcome[]).filter((o) => counts[o]).map((o) => `${counts[o]} ${DESCRIBE[o]}`);
    return { msg: `member restore complete: ${parts.join(', ') || 'nobody opted in'}` };
  };
}

/** Adds one user unless they are in the guild; an access token Discord refuses is refreshed once. */
async function restoreOne(rest: REST, store: MemberRestoreStore, guildId: string, userId: string, roles: string[]): Promise<Outcome> {
  try {
    await rest.get(Routes.guildMember(guildId, userId));
    return 'present';
  } catch (err) {
    if (!(err instanceof DiscordAPIError && err.status === 404)) throw err;
  }
  let token: string | undefined;
  try {
    token = await store.accessToken(userId);
    for (let attempt = 1; ; attempt++) {
      const body: RESTPutAPIGuildMemberJSONBody = { access_token: token, ...(roles.length ? { roles } : {}) };
      try {
        const added = await rest.put(Routes.guildMember(guildId, userId), { body });
        // 201 with the member; 204 (no body) when they joined meanwhile.
        return typeof added === 'object' && added !== null && 'user' in added ? 'added' : 'present';
      } catch (err) {
        if (!(err instanceof DiscordAPIError)) throw err;
        if (err.code === 40007) return 'banned';
        if (err.code !== 50025) throw err;
        if (attempt > 1) return 'unauthorized';
        token = await store.accessToken(userId, token);
      }
    }
  } catch (err) {
    if (err instanceof NotAuthorized) return 'unauthorized';
    throw err;
  }
}
