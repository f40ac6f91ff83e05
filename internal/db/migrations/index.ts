// Forward-only migrations, applied in id order. Add a file and list it here; never edit an applied one.
import tasks from './001-tasks';
import guildSettingsAndCases from './002-guild-settings-and-cases';
import memberRestore from './003-member-restore';
import mirror from './004-mirror';
import apiTokens from './005-api-tokens';
import casePendingId from './006-case-pending-id';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  { id: 1, name: 'tasks', sql: tasks },
  { id: 2, name: 'guild_settings_and_cases', sql: guildSettingsAndCases },
  { id: 3, name: 'member_restore', sql: memberRestore },
  { id: 4, name: 'mirror', sql: mirror },
  { id: 5, name: 'api_tokens', sql: apiTokens },
  { id: 6, name: 'case_pending_id', sql: casePendingId },
];
