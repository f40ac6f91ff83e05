import { Command, InvalidArgumentError } from 'commander';
import { withCommonOptions } from './options';

const nonNegativeInt = (name: string) => (value: string) => {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer >= 0`);
  return Number(value);
};

const shardList = (value: string) => {
  if (!/^\d{1,9}(,\d{1,9})*$/.test(value)) throw new InvalidArgumentError('must be a comma-separated list of shard ids, e.g. 0,1');
  return value.split(',').map(Number);
};

interface BotOptions {
  config: string;
  env?: string;
  cluster?: number;
  shards?: number[];
  shardCount?: number;
  clusterName?: string;
  clusterCount?: number;
  redisChannel?: string;
}

export function botCommand(): Command {
  return withCommonOptions(new Command('bot').description('bot clusters (--cluster N), or the clusterer alone'))
    .option('--cluster <id>', 'run this one cluster (started by the clusterer); without it, run the clusterer', nonNegativeInt('--cluster'))
    .option('--shards <ids>', 'shards of this cluster, e.g. 0,1', shardList)
    .option('--shard-count <n>', 'total shard count', nonNegativeInt('--shard-count'))
    .option('--cluster-name <name>', 'name of this cluster')
    .option('--cluster-count <n>', 'number of clusters', nonNegativeInt('--cluster-count'))
    .option('--redis-channel <name>', 'IPC channel (default: clusterer.redis_channel)')
    .action(async (options: BotOptions) => {
      const [{ exitWithError, loadConfigOrExit }, { runBotCluster, runClustererAlone }] = await Promise.all([import('./common'), import('../bot/main')]);
      const config = loadConfigOrExit(options);
      try {
        if (options.cluster === undefined) {
          if (!config.clusterer.enabled) {
            process.stderr.write('splashtail bot: clusterer.enabled is false, so this config runs no clusterer (give --cluster to run one cluster)\n');
            process.exit(2);
          }
          await runClustererAlone(config, { configPath: options.config, env: options.env });
          return;
        }
        const { shards, shardCount } = options;
        if (!shards || !shardCount) {
          process.stderr.write('splashtail bot: --cluster needs --shards and --shard-count\n');
          process.exit(2);
        }
        const outside = shards.find((s) => s >= shardCount);
        if (outside !== undefined) {
          process.stderr.write(`splashtail bot: shard ${outside} is not below --shard-count ${shardCount}\n`);
          process.exit(2);
        }
        await runBotCluster(
          config,
          {
            id: options.cluster,
            name: options.clusterName ?? `Cluster ${options.cluster}`,
            shards,
            shardCount,
            clusterCount: options.clusterCount ?? options.cluster + 1,
          },
          options.redisChannel ?? config.clusterer.redis_channel,
        );
      } catch (err) {
        exitWithError('bot', err);
      }
    });
}
