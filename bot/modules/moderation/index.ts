// moderation: /ban /kick /timeout /warn /purge, each a case (./cases.ts) posted to the mod log
// (./modlog.ts); /cases and /case to read them; /settings modlog.
import type { BotModule } from '../types';
import { ban, kick, timeout, warn } from './actions';
import { caseCommand, casesCommand } from './cases-command';
import { resumePendingCases } from './modlog';
import { purge } from './purge';
import { settingsCommand } from './settings-command';

export const moderation: BotModule = {
  name: 'moderation',
  description: 'Moderation commands, cases and the mod log',
  commands: [ban, kick, timeout, warn, purge, casesCommand, caseCommand, settingsCommand],
  // Cases queued while the database was down, by this cluster's previous process or another's.
  // The event's name, not discord.js's Events enum: the command list loads without discord.js.
  listen: (ctx) => void ctx.client.once('clientReady', () => resumePendingCases(ctx)),
};
