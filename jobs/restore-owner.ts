// Who may restore a backup into another guild: only the owner of both. The source guild's owner is
// asked of Discord; when the bot can no longer see it (the guild was deleted, or the bot removed
// in a raid), the owner recorded when the backup was made stands in.
import type { Task } from './repository';

export async function restoreRefusal(
  backup: Task,
  taskFor: string,
  requestedBy: string | undefined,
  guildOwner: (guildId: string) => Promise<string | undefined>,
): Promise<string | undefined> {
  const source = backup.task_for.replace(/^g\//, '');
  const target = taskFor.replace(/^g\//, '');
  if (source === target) return undefined;
  if (!requestedBy) return `body/data/requested_by is required to restore a backup of guild ${source} into guild ${target}: the id of the user asking, who must own both guilds`;
  const [sourceOwner, targetOwner] = await Promise.all([guildOwner(source).then((o) => o ?? backup.output?.guild_owner_id), guildOwner(target)]);
  if (targetOwner === undefined) return `the bot is not in guild ${target}, so its owner cannot be checked`;
  if (sourceOwner !== requestedBy || targetOwner !== requestedBy) return `only the owner of both guilds may restore a backup of guild ${source} into guild ${target}`;
  return undefined;
}
