import { Command } from 'commander';
import { loadConfigOrExit, notBuiltYet, withCommonOptions } from './common';

export function jobsCommand(): Command {
  return withCommonOptions(new Command('jobs').description('job server for backups and restores')).action((options) => {
    loadConfigOrExit(options);
    notBuiltYet('jobs');
  });
}
