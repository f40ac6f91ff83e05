// The splashtail executable: one subcommand per service. Each cmd/<name>.ts only wires: it
// defines its options here and import()s its service when it runs, so that starting one service
// loads that service's code alone (build.mjs packs each import() as a piece loaded on demand).
import { Command } from 'commander';
import { version } from '../package.json';
import { botCommand } from './bot';
import { devCommand } from './dev';
import { jobsCommand } from './jobs';
import { mirrorCommand } from './mirror';
import { proxyCommand } from './proxy';
import { simCommand } from './sim';
import { webserverCommand } from './webserver';

const program = new Command()
  .name('splashtail')
  .description('Infrastructure for running large Discord bots')
  .version(version)
  .showHelpAfterError()
  .hook('preAction', async (_program, action) => (await import('./common')).installProcessGuards(action.name()))
  .addCommand(webserverCommand())
  .addCommand(jobsCommand())
  .addCommand(botCommand())
  .addCommand(proxyCommand())
  .addCommand(mirrorCommand())
  .addCommand(simCommand())
  .addCommand(devCommand());

// process.argv given explicitly: commander reads the arguments as after `node -e <code>` (no script)
// when left to guess, and the executable's #! line does start Node with -e.
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`splashtail: ${err.message}\n`);
  process.exit(1);
});
