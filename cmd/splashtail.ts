// The splashtail executable: one subcommand per service. Each cmd/<name>.ts only wires.
import { Command } from 'commander';
import { botCommand } from './bot';
import { devCommand } from './dev';
import { jobsCommand } from './jobs';
import { proxyCommand } from './proxy';
import { simCommand } from './sim';
import { webserverCommand } from './webserver';

const program = new Command()
  .name('splashtail')
  .description('Infrastructure for running large Discord bots')
  .showHelpAfterError()
  .addCommand(webserverCommand())
  .addCommand(jobsCommand())
  .addCommand(botCommand())
  .addCommand(proxyCommand())
  .addCommand(simCommand())
  .addCommand(devCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`splashtail: ${err.message}\n`);
  process.exit(1);
});
