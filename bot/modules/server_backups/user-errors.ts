// What /backups tells a user when something goes wrong: their own mistakes named with what to do,
// our failures without internals (those go to the log).
import { JobserverError, JobserverUnreachable } from './jobserver-client';

export const NOT_A_BACKUP = 'That is not a completed backup: copy an id from /backups list.';
export const NOT_OWNER_OF_BOTH = 'Only the owner of both servers can restore a backup of another server.';

/** A refusal the command itself found, already worded for the user. */
export class UserError extends Error {
  override name = 'UserError';
}

export function userMessage(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof JobserverUnreachable) return 'The backup service is not reachable right now; try again in a minute.';
  if (err instanceof JobserverError) {
    if (err.status === 503) return 'The backup service is temporarily unavailable; try again in a minute.';
    if (err.status === 403 && /owner of both guilds/.test(err.detail)) return NOT_OWNER_OF_BOTH;
    if (err.status === 400 && /backup_task_id/.test(err.detail)) return NOT_A_BACKUP;
    if (err.status === 400 && /password/.test(err.detail)) return 'That password cannot be used: give 1 to 256 characters.';
  }
  return 'Something went wrong on our side; it has been logged. Try again later.';
}
