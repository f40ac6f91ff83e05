import { Command } from 'commander';
import { loadConfigOrExit, notBuiltYet, withCommonOptions } from './common';

export function devCommand(): Command {
  return withCommonOptions(new Command('dev').description('the whole stack against the local Discord (sim)')).action((options) => {
    loadConfigOrExit(options);
    notBuiltYet('dev');
  });
}
