// Forward-only migrations, applied in id order. Add a file and list it here; never edit an applied one.
import tasks from './001-tasks';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [{ id: 1, name: 'tasks', sql: tasks }];
