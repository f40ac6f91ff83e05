// Forward-only migrations, applied in id order. Add a file and list it here; never edit an applied one.
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [];
