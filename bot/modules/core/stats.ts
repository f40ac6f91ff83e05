// /stats: clusters, shards and guilds across every cluster, from the clusterer's diag data.
import { ApplicationCommandType } from 'discord-api-types/v10';
import type { ClusterStatus } from '../../../internal/ipc/clusterer';
import type { BotCommand, CommandContext } from '../types';

export interface BotStats {
  clusters: number;
  clusters_up: number;
  shards: number;
  shards_up: number;
  guilds: number;
  users: number;
  /** False when the clusterer did not answer and only this cluster's numbers are shown. */
  complete: boolean;
}

export function summarize(statuses: ClusterStatus[]): BotStats {
  return {
    clusters: statuses.length,
    clusters_up: statuses.filter((c) => c.state === 'up').length,
    shards: statuses.reduce((n, c) => n + c.shards.length, 0),
    shards_up: statuses.reduce((n, c) => n + c.shards_up, 0),
    guilds: statuses.reduce((n, c) => n + c.guilds, 0),
    users: statuses.reduce((n, c) => n + c.users, 0),
    complete: true,
  };
}

async function collect(ctx: CommandContext): Promise<BotStats> {
  try {
    const reply = await ctx.ipc.request('statuses', undefined, { timeoutMs: 2_000 });
    if (Array.isArray(reply.output)) return summarize(reply.output as ClusterStatus[]);
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, '/stats: clusterer did not answer; showing this cluster only');
  }
  return {
    clusters: ctx.cluster.clusterCount,
    clusters_up: 1,
    shards: ctx.cluster.shardCount,
    shards_up: ctx.cluster.shards.length,
    guilds: ctx.client.guilds.cache.size,
    users: ctx.client.guilds.cache.reduce((n, g) => n + (g.memberCount ?? 0), 0),
    complete: false,
  };
}

export const stats: BotCommand = {
  data: { name: 'stats', description: 'Clusters, shards and servers of the bot', type: ApplicationCommandType.ChatInput },
  async execute(interaction, ctx) {
    const s = await collect(ctx);
    await interaction.reply({
      content: [
        `Clusters: ${s.clusters_up}/${s.clusters} up`,
        `Shards: ${s.shards_up}/${s.shards} up`,
        `Servers: ${s.guilds}`,
        `Users: ${s.users}`,
        `This cluster: ${ctx.cluster.id} "${ctx.cluster.name}" (shards ${ctx.cluster.shards.join(', ')})`,
        ...(s.complete ? [] : ['(the clusterer did not answer: these numbers are this cluster only)']),
      ].join('\n'),
    });
  },
};
