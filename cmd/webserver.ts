import { Command } from 'commander';
import { withCommonOptions } from './options';

export function webserverCommand(): Command {
  return withCommonOptions(new Command('webserver').description('HTTP API, OAuth2 login, status page; hosts the clusterer')).action(
    async (options: { config: string; env?: string }) => {
      const [{ loadConfigOrExit, runOrExit }, { runWebserver }] = await Promise.all([import('./common'), import('../webserver/server')]);
      const config = loadConfigOrExit(options);
      await runOrExit('webserver', () => runWebserver(config, { configPath: options.config, env: options.env }));
    },
  );
}
