import { ApplicationCommandType } from 'discord-api-types/v10';
import type { BotCommand } from '../types';

export const ping: BotCommand = {
  data: { name: 'ping', description: 'Check that the bot answers, and its gateway latency', type: ApplicationCommandType.ChatInput },
  async execute(interaction, ctx) {
    const latency = interaction.guild?.shard.ping ?? ctx.client.ws.ping;
    await interaction.reply({
      content: `Pong! Gateway latency ${latency >= 0 ? `${latency} ms` : 'not measured yet'} (cluster ${ctx.cluster.id} "${ctx.cluster.name}", shard ${interaction.guild?.shardId ?? 0}).`,
    });
  },
};
