import { Command } from 'commander';
import { loadConfigOrExit, notBuiltYet, withCommonOptions } from './common';

export function webserverCommand(): Command {
  return withCommonOptions(new Command('webserver').description('HTTP API, OAuth2 login, status page; hosts the clusterer')).action((options) => {
    loadConfigOrExit(options);
    notBuiltYet('webserver');
  });
}
