// What a bot module is: a name, a description and its slash commands. The same metadata feeds
// /help, the IServer's GET /modules and BOOTSTRAP_COMMANDS. Add a module in its own folder and
// register it in ./index.ts.
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction, Client } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../internal/config';
import type { Pool } from '../../internal/db/pool';
import type { IpcBus } from '../../internal/ipc/bus';
import type { SettingsStore } from './settings-store';

export interface ClusterIdentity {
  id: number;
  name: string;
  shards: number[];
  shardCount: number;
  clusterCount: number;
}

export interface CommandContext {
  client: Client;
  cluster: ClusterIdentity;
  ipc: IpcBus;
  config: Config;
  logger: Logger;
  modules: readonly BotModule[];
  db: Pool;
  settings: SettingsStore;
  redis: Redis;
  /** Prefix of this deployment's Redis keys (the clusterer's channel). */
  keyPrefix: string;
}

export interface BotCommand {
  /** The application command as registered with Discord. */
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<unknown>;
}

export interface BotModule {
  name: string;
  description: string;
  commands: BotCommand[];
  /** Subscribes to the client's events, once, before login. */
  listen?(ctx: CommandContext): void;
}

export interface ModuleMetadata {
  name: string;
  description: string;
  commands: RESTPostAPIChatInputApplicationCommandsJSONBody[];
}

export function moduleMetadata(modules: readonly BotModule[]): ModuleMetadata[] {
  return modules.map((m) => ({ name: m.name, description: m.description, commands: m.commands.map((c) => c.data) }));
}
