import { Command } from 'commander';
import { runProxy } from '../proxy/server';
import { loadConfigOrExit, runOrExit, withCommonOptions } from './common';

export function proxyCommand(): Command {
  return withCommonOptions(new Command('proxy').description('gateway proxy holding the Discord sessions')).action(async (options) => {
    const config = loadConfigOrExit(options);
    await runOrExit('proxy', () => runProxy(config));
  });
}
