import { Command } from 'commander';
import { loadConfigOrExit, notBuiltYet, withCommonOptions } from './common';

export function proxyCommand(): Command {
  return withCommonOptions(new Command('proxy').description('gateway proxy holding the Discord sessions')).action((options) => {
    loadConfigOrExit(options);
    notBuiltYet('proxy');
  });
}
