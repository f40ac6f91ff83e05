import type { BotModule } from '../types';
import { help } from './help';
import { ping } from './ping';
import { stats } from './stats';

export const core: BotModule = {
  name: 'core',
  description: 'Basic commands: latency, bot statistics and help',
  commands: [ping, stats, help],
};
