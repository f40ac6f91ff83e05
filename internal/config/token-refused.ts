// A token Discord refuses is a config error: restarting cannot fix it, and restarting in a loop
// would hammer Discord with invalid requests (which it answers with a temporary IP ban).
import { ConfigError } from './load';

/** A ConfigError when `err` is Discord's 401 to our token; otherwise undefined. */
export function tokenRefused(err: unknown): ConfigError | undefined {
  if ((err as { status?: unknown } | null)?.status !== 401) return undefined;
  return new ConfigError(['discord_auth.token: Discord refused it (401 Unauthorized); check discord_auth.token or DISCORD_TOKEN']);
}
