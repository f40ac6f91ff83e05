import { Command } from 'commander';
import { notBuiltYet, withCommonOptions } from './common';

export function simCommand(): Command {
  return withCommonOptions(new Command('sim').description('a local Discord (gateway + REST + OAuth2) for development and tests'))
    .option('--port <port>', 'port to listen on', '3219')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--token <token>', 'the bot token the sim accepts')
    .option('--guilds <n>', 'number of generated guilds')
    .option('--shards <n>', 'recommended shard count from /gateway/bot')
    .option('--max-concurrency <n>', 'identify max_concurrency')
    .option('--identify-interval-ms <ms>', 'identify interval per concurrency bucket')
    .option('--seed <n>', 'seed of the generated world')
    .option('--world <file.json>', 'load the world from a JSON file instead of generating it')
    .option('--rate <events/s>', 'generate a realistic mix of dispatches at this rate')
    .action(() => notBuiltYet('sim'));
}
