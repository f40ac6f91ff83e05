import { Command } from 'commander';
import { withCommonOptions } from './options';

export function proxyCommand(): Command {
  return withCommonOptions(new Command('proxy').description('gateway proxy holding the Discord sessions')).action(async (options) => {
    const [{ loadConfigOrExit, runOrExit }, { runProxy }] = await Promise.all([import('./common'), import('../proxy/server')]);
    const config = loadConfigOrExit(options);
    await runOrExit('proxy', () => runProxy(config));
  });
}
