// The clusters as seen by a webserver that does not host the clusterer (clusterer.enabled: false,
// the clusterer runs in `splashtail bot`): statuses asked over IPC every 2 s, the action log read
// from its Redis list, actions sent as IPC requests. A clusterer that does not answer shows as no clusters, never stale ones.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../internal/config';
import { ActionLog } from '../internal/ipc/action-log';
import { IpcBus } from '../internal/ipc/bus';
import type { ClusterStatus } from '../internal/ipc/clusterer';
import { quarantinedGuildSchema, shardDiagSchema } from '../internal/ipc/messages';
import type { Shutdown } from '../internal/shutdown';
import type { ClustersView } from './app';
import { ipcControl } from './cluster-control';

const REFRESH_MS = 2_000;

/** A statuses reply, checked at the edge like every IPC message. */
const statusesSchema = z.array(
  z.object({
    id: z.number().int().min(0),
    name: z.string(),
    shards: z.array(z.number().int().min(0)),
    state: z.enum(['stopped', 'starting', 'up', 'stopping']),
    pid: z.number().int().nullable(),
    started_at: z.string().nullable(),
    ready_at: z.string().nullable(),
    last_answer_at: z.string().nullable(),
    restarts: z.number().int().min(0),
    shards_up: z.number().int().min(0),
    guilds: z.number().int().min(0),
    users: z.number().int().min(0),
    diag: z.array(shardDiagSchema),
    quarantined: z.array(quarantinedGuildSchema),
  }),
) satisfies z.ZodType<ClusterStatus[]>;

export async function remoteClusters({ config, logger, shutdown }: { config: Config; logger: Logger; shutdown: Shutdown }): Promise<ClustersView> {
  const c = config.clusterer;
  const bus = new IpcBus({ redisUrl: config.meta.redis_url, channel: c.redis_channel, logger, name: 'webserver-ipc' });
  await bus.start();
  const log = new ActionLog(bus.pub, `${c.redis_channel}:action_logs`, c.action_log_max);
  let last: ClusterStatus[] = [];
  const refresh = async () => {
    try {
      const reply = await bus.request('statuses', undefined, { timeoutMs: REFRESH_MS });
      const parsed = statusesSchema.safeParse(reply.output);
      if (!parsed.success) throw new Error(`statuses reply not understood: ${parsed.error.issues[0]?.message ?? ''}`);
      last = parsed.data;
    } catch (err) {
      if (last.length > 0) logger.warn({ err: (err as Error).message }, 'the clusterer did not answer statuses');
      last = [];
    }
  };
  await refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  shutdown.add('clusterer ipc', async () => {
    clearInterval(timer);
    await bus.close();
  });
  return { statuses: () => last, actions: (limit) => log.list(limit), control: ipcControl(bus) };
}
