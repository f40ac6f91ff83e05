// limits: anti-nuke rules ("more than COUNT actions of KIND by one user within SECONDS ->
// PUNISHMENT"), checked against every audit-log entry (./detector.ts). /limits manages the rules
// and the exempt users and roles; it needs Manage Server or an override (/permissions).
import { ApplicationCommandOptionType, ApplicationCommandType, PermissionFlagsBits, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotCommand, BotModule, CommandContext } from '../types';
import { watchAuditLog } from './detector';
import { LIMIT_KINDS, type LimitKind, type LimitRule, limitsSettings, MAX_RULES, MAX_SECONDS, type Punishment, PUNISHMENTS, REVERTIBLE_KINDS } from './settings';

const S = ApplicationCommandOptionType;
const choices = (values: readonly string[]) => values.map((v) => ({ name: v, value: v }));
const target = [{ type: S.Mentionable, name: 'target', description: 'A user or a role', required: true }] as const;

const data: RESTPostAPIChatInputApplicationCommandsJSONBody = {
  name: 'limits',
  description: 'Anti-nuke limits: punish whoever does too much too fast',
  type: ApplicationCommandType.ChatInput,
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
  dm_permission: false,
  options: [
    {
      type: S.Subcommand, name: 'add', description: 'Add a rule: more than COUNT actions of KIND within SECONDS -> PUNISHMENT',
      options: [
        { type: S.String, name: 'kind', description: 'What is counted', required: true, choices: choices(LIMIT_KINDS) },
        { type: S.Integer, name: 'count', description: 'Actions allowed within the window', required: true, min_value: 1, max_value: 1000 },
        { type: S.Integer, name: 'seconds', description: 'Window length in seconds', required: true, min_value: 1, max_value: MAX_SECONDS },
        { type: S.String, name: 'punishment', description: 'What happens to whoever goes over', required: true, choices: choices(PUNISHMENTS) },
        { type: S.Boolean, name: 'revert', description: 'channel_delete / role_delete: recreate what they deleted' },
      ],
    },
    { type: S.Subcommand, name: 'list', description: "This server's rules and exemptions" },
    { type: S.Subcommand, name: 'remove', description: 'Remove a rule', options: [{ type: S.Integer, name: 'id', description: 'Rule id from /limits list', required: true, min_value: 1 }] },
    { type: S.Subcommand, name: 'exempt_add', description: 'Never punish this user or role', options: [...target] },
    { type: S.Subcommand, name: 'exempt_remove', description: 'Stop exempting this user or role', options: [...target] },
  ],
};

const describeRule = (r: Omit<LimitRule, 'id'>) => `more than ${r.count} ${r.kind} within ${r.seconds}s -> ${r.punishment}${r.revert ? ' (and revert)' : ''}`;
const isKind = (v: string): v is LimitKind => (LIMIT_KINDS as readonly string[]).includes(v);
const isPunishment = (v: string): v is Punishment => (PUNISHMENTS as readonly string[]).includes(v);

async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = interaction.guildId!;
  const update = (change: Parameters<typeof ctx.settings.update<typeof limitsSettings>>[3]) => ctx.settings.update(guildId, 'limits', limitsSettings, change);
  switch (interaction.options.getSubcommand()) {
    case 'add': {
      const kind = interaction.options.getString('kind', true);
      const punishment = interaction.options.getString('punishment', true);
      const count = interaction.options.getInteger('count', true);
      const seconds = interaction.options.getInteger('seconds', true);
      const revert = interaction.options.getBoolean('revert') ?? false;
      if (!isKind(kind)) return void (await interaction.reply({ content: `Unknown kind \`${kind}\`: one of ${LIMIT_KINDS.join(', ')}.`, ephemeral: true }));
      if (!isPunishment(punishment)) return void (await interaction.reply({ content: `Unknown punishment \`${punishment}\`: one of ${PUNISHMENTS.join(', ')}.`, ephemeral: true }));
      if (count < 1 || count > 1000 || seconds < 1 || seconds > MAX_SECONDS) return void (await interaction.reply({ content: `count must be 1-1000 and seconds 1-${MAX_SECONDS}.`, ephemeral: true }));
      if (revert && !REVERTIBLE_KINDS.includes(kind)) return void (await interaction.reply({ content: `revert works with ${REVERTIBLE_KINDS.join(' and ')} only.`, ephemeral: true }));
      let id = 0;
      let full = false;
      await update((s) => {
        if (s.rules.length >= MAX_RULES) {
          full = true;
          return s;
        }
        id = s.next_rule_id;
        return { ...s, next_rule_id: id + 1, rules: [...s.rules, { id, kind, count, seconds, punishment, revert }] };
      });
      await interaction.reply(full ? `This server already has ${MAX_RULES} rules: remove one first.` : `Rule #${id}: ${describeRule({ count, kind, seconds, punishment, revert })}.`);
      return;
    }
    case 'list': {
      const s = await ctx.settings.get(guildId, 'limits', limitsSettings);
      const rules = s.rules.map((r) => `#${r.id}: ${describeRule(r)}`);
      const exempt = [...s.exempt_users.map((u) => `<@${u}>`), ...s.exempt_roles.map((r) => `<@&${r}>`)];
      await interaction.reply({ content: `${rules.length ? rules.join('\n') : 'No rules yet: /limits add'}\nExempt: ${exempt.length ? exempt.join(', ') : 'nobody'}`, allowedMentions: { parse: [] } });
      return;
    }
    case 'remove': {
      const id = interaction.options.getInteger('id', true);
      let found = false;
      await update((s) => {
        found = s.rules.some((r) => r.id === id);
        return { ...s, rules: s.rules.filter((r) => r.id !== id) };
      });
      await interaction.reply(found ? `Rule #${id} removed.` : `There is no rule #${id}: see /limits list.`);
      return;
    }
    case 'exempt_add':
    case 'exempt_remove': {
      const adding = interaction.options.getSubcommand() === 'exempt_add';
      // The mentionable's id names a role of this guild or a user.
      const id = String(interaction.options.get('target', true).value);
      const isRole = interaction.guild?.roles.cache.has(id) ?? false;
      const field = isRole ? 'exempt_roles' : 'exempt_users';
      await update((s) => ({ ...s, [field]: adding ? [...new Set([...s[field], id])] : s[field].filter((x) => x !== id) }));
      const mention = isRole ? `<@&${id}>` : `<@${id}>`;
      await interaction.reply({ content: adding ? `${mention} is exempt from the limits.` : `${mention} is no longer exempt.`, allowedMentions: { parse: [] } });
      return;
    }
  }
}

const command: BotCommand = { data, execute };

export const limits: BotModule = {
  name: 'limits',
  description: 'Anti-nuke limits on channel, role, member, webhook and emoji actions',
  commands: [command],
  listen: watchAuditLog,
};
