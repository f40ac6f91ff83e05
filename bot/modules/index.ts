// The one list of bot modules, in /help order. A new module: bot/modules/<name>/index.ts
// exporting a BotModule, imported and added here.
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import { core } from './core';
import { limits } from './limits';
import { mirror } from './mirror';
import { moderation } from './moderation';
import { permissions } from './permissions';
import { serverBackups } from './server_backups';
import type { BotCommand, BotModule } from './types';

export const modules: readonly BotModule[] = [core, serverBackups, limits, moderation, permissions, mirror];

/** Command name -> command, refusing duplicates (Discord would reject the bulk overwrite anyway). */
export function commandIndex(list: readonly BotModule[] = modules): Map<string, BotCommand> {
  const index = new Map<string, BotCommand>();
  for (const module of list) {
    for (const command of module.commands) {
      if (index.has(command.data.name)) throw new Error(`command /${command.data.name} is defined twice (module ${module.name})`);
      index.set(command.data.name, command);
    }
  }
  return index;
}

/** The application commands to register, in module order. */
export function applicationCommands(list: readonly BotModule[] = modules): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...commandIndex(list).values()].map((c) => c.data);
}
