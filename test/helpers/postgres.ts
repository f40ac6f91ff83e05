// A private PostgreSQL cluster on its own port, for tests that stop and start the database
// (the shared one on 5432 is never touched). initdb and pg_ctl run as the postgres user.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url: string;
  start(): void;
  /** Stops at once, as a crash would (connections are cut, no checkpoint). */
  stop(): void;
  /** Stops and removes the cluster's files. */
  destroy(): void;
}

function asPostgres(args: string[]): void {
  const result = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status}): ${result.stderr || result.error?.message}`);
}

/** Creates a cluster (not started). Throws with the reason when it cannot (no binaries, not root). */
export async function privatePostgres(database = 'test'): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'st-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  asPostgres([`${BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const ctl = (...args: string[]) => asPostgres([`${BIN}/pg_ctl`, '-D', data, '-l', join(dir, 'log'), ...args]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: () => ctl('-w', '-o', options, 'start'),
    stop: () => ctl('-w', '-m', 'immediate', 'stop'),
    destroy() {
      try {
        ctl('-w', '-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
