import { Command } from 'commander';
import { runWebserver } from '../webserver/server';
import { loadConfigOrExit, runOrExit, withCommonOptions } from './common';

export function webserverCommand(): Command {
  return withCommonOptions(new Command('webserver').description('HTTP API, OAuth2 login, status page; hosts the clusterer')).action(
    async (options: { config: string; env?: string }) => {
      const config = loadConfigOrExit(options);
      await runOrExit('webserver', () => runWebserver(config, { configPath: options.config, env: options.env }));
    },
  );
}
