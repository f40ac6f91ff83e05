import { Command } from 'commander';
import { withCommonOptions } from './options';

export function jobsCommand(): Command {
  return withCommonOptions(new Command('jobs').description('job server for backups and restores')).action(async (options) => {
    const [{ loadConfigOrExit, runOrExit }, { runJobs }] = await Promise.all([import('./common'), import('../jobs/server')]);
    const config = loadConfigOrExit(options);
    await runOrExit('jobs', () => runJobs(config));
  });
}
