// The options every subcommand takes. Kept apart from common.ts, which loads the config and the
// logger: defining the subcommands (all `--help` needs) must not load either.
import type { Command } from 'commander';

export function withCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <path>', 'path to the config file', './config.yaml')
    .option('-e, --env <name>', 'environment whose per-environment values apply (default: `env` in the config)');
}
