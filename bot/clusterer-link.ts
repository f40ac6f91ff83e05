// A cluster's link to the clusterer that started it, over Node's process channel (not Redis):
// it answers the diag pings that prove this process is alive, reports launch_next, and notices
// when the clusterer is gone (the channel closes), so no orphan keeps holding shards.
import type { Logger } from 'pino';
import { type DiagReply, type IpcMessage, diagPingSchema } from '../internal/ipc/messages';

export interface ClustererLink {
  /** Tells the clusterer this cluster is ready; false when there is no process channel. */
  launchNext(): boolean;
}

export function linkToClusterer(options: {
  clusterId: number;
  logger: Logger;
  diag: () => Omit<DiagReply, 'nonce' | 'id'>;
  onClustererGone: () => void;
}): ClustererLink {
  const send = (message: IpcMessage): boolean => {
    if (!process.send || !process.connected) return false;
    process.send(message, undefined, {}, (err: Error | null) => {
      if (err) options.logger.warn({ err: err.message }, 'process channel send failed');
    });
    return true;
  };
  if (process.send) {
    process.on('message', (value: unknown) => {
      const ping = diagPingSchema.safeParse(value);
      if (!ping.success || ping.data.id !== options.clusterId) {
        options.logger.warn({ value: typeof value }, 'unexpected message on the process channel ignored');
        return;
      }
      send({ scope: 'launcher', action: 'diag', output: { nonce: ping.data.nonce, id: options.clusterId, ...options.diag() } });
    });
    process.once('disconnect', () => {
      options.logger.warn('clusterer process is gone; shutting down');
      options.onClustererGone();
    });
  }
  return { launchNext: () => send({ scope: 'launcher', action: 'launch_next', args: { id: options.clusterId } }) };
}
