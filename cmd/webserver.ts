import { Command } from 'commander';
import { runWebserver } from '../webserver/server';
import { loadConfigOrExit, withCommonOptions } from './common';

export function webserverCommand(): Command {
  return withCommonOptions(new Command('webserver').description('HTTP API, OAuth2 login, status page; hosts the clusterer')).action(
    async (options: { config: string; env?: string }) => {
      const config = loadConfigOrExit(options);
      try {
        await runWebserver(config, { configPath: options.config, env: options.env });
      } catch (err) {
        process.stderr.write(`splashtail webserver: ${(err as Error).message}\n`);
        process.exit(1);
      }
    },
  );
}
