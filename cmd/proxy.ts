import { Command } from 'commander';
import { runProxy } from '../proxy/server';
import { loadConfigOrExit, withCommonOptions } from './common';

export function proxyCommand(): Command {
  return withCommonOptions(new Command('proxy').description('gateway proxy holding the Discord sessions')).action(async (options) => {
    const config = loadConfigOrExit(options);
    try {
      await runProxy(config);
    } catch (err) {
      process.stderr.write(`splashtail proxy: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });
}
