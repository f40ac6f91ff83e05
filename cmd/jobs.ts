import { Command } from 'commander';
import { runJobs } from '../jobs/server';
import { loadConfigOrExit, runOrExit, withCommonOptions } from './common';

export function jobsCommand(): Command {
  return withCommonOptions(new Command('jobs').description('job server for backups and restores')).action(async (options) => {
    const config = loadConfigOrExit(options);
    await runOrExit('jobs', () => runJobs(config));
  });
}
