// One bot cluster process (`splashtail bot --cluster N ...`): the discord.js client for its
// shards, the IPC link to the clusterer (diag answers, launch_next) and the IServer.
import { type ChatInputCommandInteraction, Events, Status, type Client } from 'discord.js';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../internal/config';
import { IpcBus } from '../internal/ipc/bus';
import type { ShardDiag } from '../internal/ipc/messages';
import type { Shutdown } from '../internal/shutdown';
import { createClient } from './client';
import { openBotDatabase } from './db';
import { linkToClusterer } from './clusterer-link';
import { EventGuard } from './event-guard';
import { type ClusterInfo, type GuildSummaryData, buildIServer } from './iserver/app';
import { commandIndex, modules } from './modules';
import { requirePermission } from './modules/permissions/check';
import { SettingsStore } from './modules/settings-store';
import { type ClusterIdentity, type CommandContext, moduleMetadata } from './modules/types';

/** How long a cluster waits for its tables before it connects anyway (Postgres down or slow). */
const MIGRATION_WAIT_MS = 15_000;

export interface ClusterOptions {
  config: Config;
  identity: ClusterIdentity;
  channel: string;
  logger: Logger;
  registry: Registry;
  shutdown: Shutdown;
}

export async function runCluster({ config, identity, channel, logger, registry, shutdown }: ClusterOptions): Promise<void> {
  const startedAt = Date.now();
  const client = createClient(config, identity.shards, identity.shardCount);
  const bus = new IpcBus({ redisUrl: config.meta.redis_url, channel, logger, name: `cluster-${identity.id}` });
  const commands = commandIndex(modules);
  const database = openBotDatabase(config, logger);
  const db = database.pool;
  shutdown.add('postgres', () => database.close());
  const ctx: CommandContext = { client, cluster: identity, ipc: bus, config, logger, modules, db, settings: new SettingsStore(db, { redis: bus.pub, prefix: channel, logger }), redis: bus.pub, keyPrefix: channel };
  const interactions = new Counter({ name: 'splashtail_bot_interactions_total', help: 'Slash commands handled', labelNames: ['command', 'result'], registers: [registry] });
  let ready = false;

  shutdown.add('redis', () => bus.close());
  const guard = new EventGuard({ redis: bus.pub, keyPrefix: channel, logger, registry });
  guard.install(client);
  const link = linkToClusterer({
    clusterId: identity.id,
    logger,
    diag: () => ({ data: diag(client, identity.shards), quarantined: guard.list() }),
    onClustererGone: () => void shutdown.run().then(() => process.exit(0)),
  });
  bus.onMessage((incoming) => {
    if (incoming.kind === 'invalid') {
      logger.warn({ error: incoming.error }, 'invalid IPC message ignored');
    } else if (incoming.message.scope === 'bot' && incoming.message.action === 'all_clusters_launched') {
      logger.info('all clusters launched');
    }
  });
  // Not awaited: the bot runs without Redis; IPC joins in when Redis is there.
  bus.start().then(
    () => logger.info({ channel }, 'IPC subscribed'),
    (err: Error) => logger.warn({ err: err.message }, 'IPC not started'),
  );

  const iserver = buildIServer({
    logger,
    registry,
    secret: config.meta.bot_iserver_secret,
    source: {
      info: () => info(client, identity, ready, startedAt),
      hasGuild: (id) => client.guilds.cache.has(id),
      guild: (id) => guildSummary(client, id),
      modules: () => moduleMetadata(modules),
    },
  });
  const port = config.meta.bot_iserver_base_port + identity.id;
  await iserver.listen({ host: config.meta.bot_iserver_host, port });
  shutdown.add('iserver', () => iserver.close());
  logger.info({ url: `http://${config.meta.bot_iserver_host}:${port}` }, 'iserver listening');

  client.on(Events.ShardReady, (shardId) => logger.info({ shard_id: shardId }, 'shard ready'));
  client.on(Events.ShardDisconnect, (event, shardId) => logger.warn({ shard_id: shardId, code: event.code }, 'shard disconnected'));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  client.once(Events.ClientReady, () => {
    ready = true;
    logger.info({ cluster_id: identity.id, shards: identity.shards, guilds: client.guilds.cache.size }, 'all shards ready');
    // Tells the clusterer to start the next cluster: over the process channel when it is our
    // parent, else (a cluster started by hand) over Redis.
    if (!link.launchNext()) {
      bus.publish({ scope: 'launcher', action: 'launch_next', args: { id: identity.id } }).catch((err: Error) => logger.error({ err: err.message }, 'launch_next not sent'));
    }
  });
  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    void handleCommand(interaction);
  });

  const handleCommand = async (interaction: ChatInputCommandInteraction) => {
    const command = commands.get(interaction.commandName);
    if (!command) {
      interactions.inc({ command: 'unknown', result: 'unknown' });
      await interaction.reply({ content: `Unknown command /${interaction.commandName}.`, ephemeral: true }).catch(() => {});
      return;
    }
    try {
      // Every command, whatever Discord showed the member: defaults plus the guild's overrides.
      if (!(await requirePermission(interaction, command, ctx))) {
        interactions.inc({ command: command.data.name, result: 'refused' });
        return;
      }
      await command.execute(interaction, ctx);
      interactions.inc({ command: command.data.name, result: 'ok' });
    } catch (err) {
      interactions.inc({ command: command.data.name, result: 'error' });
      logger.error({ err, command: command.data.name }, 'command failed');
      const content = 'Something went wrong running this command; it has been logged.';
      const answer = interaction.replied || interaction.deferred ? interaction.followUp({ content }) : interaction.reply({ content });
      await answer.catch(() => {});
    }
  };

  for (const module of modules) module.listen?.(ctx);
  shutdown.add('discord', () => client.destroy());
  await guard.load();
  await Promise.race([database.migrated, new Promise((r) => setTimeout(r, MIGRATION_WAIT_MS).unref())]);
  await client.login(config.discord_auth.token);
}

function shardGuilds(client: Client, shardId: number) {
  return client.guilds.cache.filter((g) => g.shardId === shardId);
}

export function diag(client: Client, shards: number[]): ShardDiag[] {
  return shards.map((shardId) => {
    const shard = client.ws.shards.get(shardId);
    const guilds = shardGuilds(client, shardId);
    return {
      shard_id: shardId,
      up: shard?.status === Status.Ready,
      latency: shard?.ping ?? -1,
      guilds: guilds.size,
      users: guilds.reduce((n, g) => n + (g.memberCount ?? 0), 0),
    };
  });
}

function info(client: Client, identity: ClusterIdentity, ready: boolean, startedAt: number): ClusterInfo {
  const memory = process.memoryUsage();
  const shardStatus = diag(client, identity.shards);
  return {
    cluster_id: identity.id,
    cluster_name: identity.name,
    shards: identity.shards,
    shard_count: identity.shardCount,
    cluster_count: identity.clusterCount,
    guilds: client.guilds.cache.size,
    users: shardStatus.reduce((n, s) => n + s.users, 0),
    ready,
    uptime_seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    memory: { rss: memory.rss, heap_used: memory.heapUsed, heap_total: memory.heapTotal },
    shard_status: shardStatus,
  };
}

function guildSummary(client: Client, id: string): GuildSummaryData | undefined {
  const guild = client.guilds.cache.get(id);
  if (!guild) return undefined;
  return {
    id: guild.id,
    name: guild.name,
    shard_id: guild.shardId,
    owner_id: guild.ownerId,
    member_count: guild.memberCount ?? 0,
    channels: guild.channels.cache.size,
    roles: guild.roles.cache.size,
    icon: guild.icon,
  };
}
