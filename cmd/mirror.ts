import { Command } from 'commander';
import { withCommonOptions } from './options';

export function mirrorCommand(): Command {
  return withCommonOptions(new Command('mirror').description('channel mirroring node: gateway events from RabbitMQ to webhooks in linked channels')).action(async (options) => {
    const [{ loadConfigOrExit, runOrExit }, { runMirror }] = await Promise.all([import('./common'), import('../mirror/server')]);
    const config = loadConfigOrExit(options);
    await runOrExit('mirror', () => runMirror(config));
  });
}
