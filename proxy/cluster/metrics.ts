// Metrics of shard ownership across nodes.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createClusterMetrics(registry: Registry) {
  return {
    ownershipChanges: new Counter({ name: 'proxy_shard_ownership_changes_total', help: 'Shards acquired, handed off or lost by this node', labelNames: ['change'], registers: [registry] }),
    failoverSeconds: new Histogram({
      name: 'proxy_failover_seconds', help: "Seconds from a dead node's last heartbeat to the reassignment of its shards (observed by the coordinator)",
      buckets: [1, 2, 5, 10, 15, 20, 30, 60], registers: [registry],
    }),
    takeoverSeconds: new Histogram({
      name: 'proxy_shard_takeover_seconds', help: 'Seconds from taking a shard to its READY or RESUMED',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry],
    }),
    sessionStartsRemaining: new Gauge({ name: 'proxy_session_starts_remaining', help: "The bot's IDENTIFYs left today (session_start_limit.remaining, as last asked of Discord)", registers: [registry] }),
    identifyQueueDepth: new Gauge({ name: 'proxy_identify_queue_depth', help: "This node's shards waiting in the shared identify queue", registers: [registry] }),
  };
}

export type ClusterMetrics = ReturnType<typeof createClusterMetrics>;
