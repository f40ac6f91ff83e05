// Wiring of the shard log and the downstream session store (`proxy.shard_log_max_events` > 0):
// the shards this node owns (proxy/ownership.ts) append their dispatches under their epochs; the
// upstream RESUMEs from the log's last `s` (Upstream's `lastLogged`), so the log has neither hole
// nor repeat.
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../internal/config';
import type { Shutdown } from '../internal/shutdown';
import { SendRelay } from './downstream-sends';
import { DownstreamStore } from './downstream-store';
import { ShardLog } from './shard-log';

export async function persistDownstream(
  config: Config,
  deps: { redis: Redis; registry: Registry; logger: Logger; shutdown: Shutdown; send: (shard: number, payload: GatewaySendPayload) => Promise<void> },
): Promise<{ log: ShardLog; store: DownstreamStore; sends: SendRelay } | undefined> {
  const { redis, registry, logger, shutdown } = deps;
  const max = config.proxy.shard_log_max_events;
  if (max === 0) return undefined;
  const prefix = config.proxy.session_key_prefix;
  const log = new ShardLog(redis, prefix, max, registry, logger);
  // Sessions outlive a disconnect as long as the in-memory buffers keep their events.
  const store = new DownstreamStore(redis, prefix, Math.max(1, config.proxy.buffer_max_age_seconds), logger);
  // Sends of bots on other nodes for the shards this one owns.
  const sends = new SendRelay(redis, prefix, (shard) => log.owns(shard), deps.send, logger);
  await sends.start();
  shutdown.add('shard log', async () => {
    sends.close();
    await log.flush();
    await store.close();
  });
  return { log, store, sends };
}
