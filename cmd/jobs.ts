import { Command } from 'commander';
import { runJobs } from '../jobs/server';
import { loadConfigOrExit, withCommonOptions } from './common';

export function jobsCommand(): Command {
  return withCommonOptions(new Command('jobs').description('job server for backups and restores')).action(async (options) => {
    const config = loadConfigOrExit(options);
    try {
      await runJobs(config);
    } catch (err) {
      process.stderr.write(`splashtail jobs: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });
}
