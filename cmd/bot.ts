import { Command } from 'commander';
import { loadConfigOrExit, notBuiltYet, withCommonOptions } from './common';

export function botCommand(): Command {
  return withCommonOptions(new Command('bot').description('bot clusters (--cluster N), or the clusterer alone')).action((options) => {
    loadConfigOrExit(options);
    notBuiltYet('bot');
  });
}
