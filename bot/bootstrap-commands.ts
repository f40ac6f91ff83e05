// BOOTSTRAP_COMMANDS=true: replace the application's commands with the modules' commands in one
// bulk overwrite (global, or in servers.main when set), logging what was added, changed, removed.
import { REST } from '@discordjs/rest';
import {
  type APIApplicationCommand,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type RESTPutAPIApplicationCommandsResult,
  Routes,
} from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { type Config, tokenRefused } from '../internal/config';
import { applicationCommands } from './modules';

export interface CommandDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

type Comparable = Pick<APIApplicationCommand, 'name' | 'description'> & { type?: number; options?: unknown };

function fingerprint(c: Comparable): string {
  return JSON.stringify({ type: c.type ?? 1, description: c.description, options: normalizeOptions(c.options) });
}

/** Discord echoes options with defaults filled in; drop empty/false ones so equal stays equal. */
function normalizeOptions(options: unknown): unknown {
  if (!Array.isArray(options) || options.length === 0) return [];
  return options.map((o: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(o).sort()) {
      const value = o[key];
      if (value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0)) continue;
      if (key.endsWith('_localizations')) continue;
      out[key] = key === 'options' ? normalizeOptions(value) : value;
    }
    return out;
  });
}

export function diffCommands(current: Comparable[], wanted: Comparable[]): CommandDiff {
  const before = new Map(current.map((c) => [c.name, c]));
  const diff: CommandDiff = { added: [], changed: [], removed: [], unchanged: [] };
  for (const command of wanted) {
    const old = before.get(command.name);
    if (!old) diff.added.push(command.name);
    else if (fingerprint(old) !== fingerprint(command)) diff.changed.push(command.name);
    else diff.unchanged.push(command.name);
    before.delete(command.name);
  }
  diff.removed = [...before.keys()];
  return diff;
}

export async function bootstrapCommands(
  config: Config,
  logger: Logger,
  commands: RESTPostAPIChatInputApplicationCommandsJSONBody[] = applicationCommands(),
): Promise<CommandDiff> {
  const rest = new REST({ api: config.discord_auth.api_url, retries: 2, timeout: 15_000 }).setToken(config.discord_auth.token);
  const appId = config.discord_auth.client_id;
  const guildId = config.servers.main;
  const route = guildId ? Routes.applicationGuildCommands(appId, guildId) : Routes.applicationCommands(appId);
  const current = (await rest.get(route).catch((err: unknown) => Promise.reject(tokenRefused(err) ?? err))) as APIApplicationCommand[];
  const diff = diffCommands(current, commands);
  const result = (await rest.put(route, { body: commands })) as RESTPutAPIApplicationCommandsResult;
  logger.info(
    { scope: guildId ? `guild ${guildId}` : 'global', added: diff.added, changed: diff.changed, removed: diff.removed, unchanged: diff.unchanged.length, registered: result.length },
    'application commands bootstrapped',
  );
  return diff;
}
