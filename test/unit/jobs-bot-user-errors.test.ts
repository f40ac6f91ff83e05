// What /backups tells a user for each failure (issue #12): their own mistakes named with what to
// do, never the jobserver's or Postgres's raw text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobserverError, JobserverUnreachable } from '../../bot/modules/server_backups/jobserver-client';
import { UserError, userMessage } from '../../bot/modules/server_backups/user-errors';

describe('/backups user messages', () => {
  it('words each failure without internals', () => {
    const cases: [unknown, string][] = [
      [new UserError('That is not a completed backup: copy an id from /backups list.'), 'That is not a completed backup: copy an id from /backups list.'],
      [new JobserverUnreachable('POST /tasks: fetch failed'), 'The backup service is not reachable right now; try again in a minute.'],
      [new JobserverError(503, 'the task database (Postgres) is unavailable; try again shortly'), 'The backup service is temporarily unavailable; try again in a minute.'],
      [new JobserverError(403, 'only the owner of both guilds may restore a backup of guild 1 into guild 2'), 'Only the owner of both servers can restore a backup of another server.'],
      [new JobserverError(400, 'body/data/backup_task_id must be the id of a completed guild_create_backup task'), 'That is not a completed backup: copy an id from /backups list.'],
      [new JobserverError(500, 'invalid input syntax for type uuid: "x"'), 'Something went wrong on our side; it has been logged. Try again later.'],
      [new Error('relation "tasks" does not exist'), 'Something went wrong on our side; it has been logged. Try again later.'],
    ];
    for (const [err, expected] of cases) assert.equal(userMessage(err), expected, String(err));
  });
});
