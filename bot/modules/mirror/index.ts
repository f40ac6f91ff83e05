// mirror: link channels across servers (issue 16). `/mirror link channel` in the source server
// gives a one-time code (10 minutes); `/mirror join code channel` in the target completes it and
// creates the link's own webhook there (and one in the source for a two-way link). Both sides
// need Manage Webhooks on their channel, for the member and for the bot. `splashtail mirror`
// nodes do the mirroring; this module only manages links (README: Mirror).
import { ApplicationCommandOptionType, ApplicationCommandType, ChannelType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction, GuildBasedChannel } from 'discord.js';
import { CODE_TTL_MINUTES, MirrorRepository } from '../../../mirror/repository';
import type { BotModule, CommandContext } from '../types';

const WEBHOOK_NAME = 'splashtail mirror';

class UserError extends Error {}

/** The channel option, checked: a text channel of this server where member and bot may manage webhooks. */
async function webhookChannel(interaction: ChatInputCommandInteraction<'cached'>, channelId: string): Promise<GuildBasedChannel & { createWebhook: (o: { name: string }) => Promise<{ id: string; token: string | null }> }> {
  const channel = await interaction.guild.channels.fetch(channelId).catch(() => null);
  if (!channel || (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement)) {
    throw new UserError('Pick a text or announcement channel of this server.');
  }
  const member = await interaction.guild.members.fetch(interaction.user.id);
  if (!channel.permissionsFor(member).has(PermissionFlagsBits.ManageWebhooks)) throw new UserError(`You need Manage Webhooks in <#${channel.id}>.`);
  const me = await interaction.guild.members.fetchMe();
  if (!channel.permissionsFor(me).has(PermissionFlagsBits.ManageWebhooks)) throw new UserError(`The bot needs Manage Webhooks in <#${channel.id}>.`);
  return channel;
}

async function createWebhook(channel: Awaited<ReturnType<typeof webhookChannel>>): Promise<{ id: string; token: string }> {
  const webhook = await channel.createWebhook({ name: WEBHOOK_NAME });
  if (!webhook.token) throw new Error('Discord returned a webhook without a token');
  return { id: webhook.id, token: webhook.token };
}

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  if (!interaction.inCachedGuild()) {
    await interaction.reply({ content: 'Mirrors link server channels: use this in a server.', ephemeral: true });
    return;
  }
  const repo = new MirrorRepository(ctx.db);
  const guildId = interaction.guildId;
  try {
    switch (interaction.options.getSubcommand()) {
      case 'link': {
        const channel = await webhookChannel(interaction, String(interaction.options.get('channel', true).value));
        const code = await repo.createCode({ source_guild_id: guildId, source_channel_id: channel.id, two_way: interaction.options.getBoolean('two_way') ?? false, created_by: interaction.user.id });
        await interaction.reply({ content: `Code \`${code}\`: run \`/mirror join code:${code}\` in the other server within ${CODE_TTL_MINUTES} minutes to mirror <#${channel.id}> there.`, ephemeral: true });
        return;
      }
      case 'join': {
        const target = await webhookChannel(interaction, String(interaction.options.get('channel', true).value));
        const code = await repo.takeCode(interaction.options.getString('code', true).trim());
        if (!code) throw new UserError('That code is unknown, used or expired (codes last 10 minutes): run `/mirror link` again.');
        if (code.source_channel_id === target.id) throw new UserError('A channel cannot mirror itself.');
        const links = [];
        const webhook = await createWebhook(target);
        links.push(await repo.createLink({ source_guild_id: code.source_guild_id, source_channel_id: code.source_channel_id, target_guild_id: guildId, target_channel_id: target.id, webhook_id: webhook.id, webhook_token: webhook.token, created_by: interaction.user.id }));
        if (code.two_way) {
          const source = await interaction.client.channels.fetch(code.source_channel_id);
          if (!source || !('createWebhook' in source)) throw new UserError('The source channel is gone; the one-way link was made.');
          const back = await createWebhook(source as Awaited<ReturnType<typeof webhookChannel>>);
          links.push(await repo.createLink({ source_guild_id: guildId, source_channel_id: target.id, target_guild_id: code.source_guild_id, target_channel_id: code.source_channel_id, webhook_id: back.id, webhook_token: back.token, created_by: interaction.user.id }));
        }
        await interaction.reply(links.map((l) => `Link #${l.id}: <#${l.source_channel_id}> → <#${l.target_channel_id}>`).join('\n'));
        return;
      }
      case 'list': {
        const links = await repo.linksOfGuild(guildId);
        await interaction.reply({ content: links.length ? links.map((l) => `#${l.id}: <#${l.source_channel_id}> → <#${l.target_channel_id}>`).join('\n') : 'No mirrors: `/mirror link` starts one.', ephemeral: true });
        return;
      }
      case 'unlink': {
        if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageWebhooks)) throw new UserError('You need Manage Webhooks to remove a mirror.');
        const link = await repo.deleteLink(interaction.options.getInteger('id', true), guildId);
        if (!link) throw new UserError('No mirror with that id touches this server: see `/mirror list`.');
        // Its webhook is of no use any more; a failure (already deleted) changes nothing.
        await interaction.client.deleteWebhook(link.webhook_id).catch(() => {});
        await interaction.reply(`Link #${link.id} removed: <#${link.source_channel_id}> is no longer mirrored to <#${link.target_channel_id}>.`);
        return;
      }
    }
  } catch (err) {
    if (!(err instanceof UserError)) ctx.logger.warn({ err: (err as Error).message, guild_id: guildId }, '/mirror failed');
    const content = err instanceof UserError ? err.message : 'Something went wrong; try again later.';
    if (interaction.replied || interaction.deferred) await interaction.editReply(content);
    else await interaction.reply({ content, ephemeral: true });
  }
}

const channelOption = (description: string) => ({
  type: ApplicationCommandOptionType.Channel as const, name: 'channel', description, required: true, channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement] as (ChannelType.GuildText | ChannelType.GuildAnnouncement)[],
});

export const mirror: BotModule = {
  name: 'mirror',
  description: 'Mirror a channel into channels of other servers',
  commands: [
    {
      data: {
        name: 'mirror',
        description: 'Channel mirrors across servers',
        type: ApplicationCommandType.ChatInput,
        default_member_permissions: PermissionFlagsBits.ManageWebhooks.toString(),
        dm_permission: false,
        options: [
          {
            type: ApplicationCommandOptionType.Subcommand, name: 'link', description: 'Get a code to mirror a channel of this server elsewhere',
            options: [channelOption('The channel to mirror'), { type: ApplicationCommandOptionType.Boolean, name: 'two_way', description: 'Mirror back from the other channel too' }],
          },
          {
            type: ApplicationCommandOptionType.Subcommand, name: 'join', description: 'Mirror a linked channel into a channel of this server',
            options: [{ type: ApplicationCommandOptionType.String, name: 'code', description: 'The code from /mirror link', required: true, min_length: 1, max_length: 32 }, channelOption('Where the messages appear')],
          },
          { type: ApplicationCommandOptionType.Subcommand, name: 'list', description: "This server's mirrors" },
          { type: ApplicationCommandOptionType.Subcommand, name: 'unlink', description: 'Remove a mirror', options: [{ type: ApplicationCommandOptionType.Integer, name: 'id', description: 'Id from /mirror list', required: true, min_value: 1 }] },
        ],
      },
      execute,
    },
  ],
};
