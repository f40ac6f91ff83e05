// The splashtail executable: one subcommand per service. Each cmd/<name>.ts only wires.
import { Command } from 'commander';
import { botCommand } from './bot';
import { installProcessGuards } from './common';
import { devCommand } from './dev';
import { jobsCommand } from './jobs';
import { proxyCommand } from './proxy';
import { simCommand } from './sim';
import { webserverCommand } from './webserver';

installProcessGuards(process.argv[2] ?? 'splashtail');

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
