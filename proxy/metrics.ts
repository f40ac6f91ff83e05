// The proxy's own metrics (the AMQP/state side adds twilight-dispatch's names).
import { Counter, Gauge, type Registry } from 'prom-client';

export function createProxyMetrics(registry: Registry) {
  return {
    eventsIn: new Counter({ name: 'proxy_events_in_total', help: 'Dispatches received from upstream', labelNames: ['shard'], registers: [registry] }),
    eventsOut: new Counter({ name: 'proxy_events_out_total', help: 'Dispatches sent to downstream sessions', labelNames: ['shard'], registers: [registry] }),
    sessions: new Gauge({ name: 'proxy_downstream_sessions', help: 'Downstream sessions (connected or resumable)', registers: [registry] }),
    resumes: new Counter({ name: 'proxy_downstream_resumes_total', help: 'Downstream RESUMEs served', registers: [registry] }),
    buffered: new Gauge({ name: 'proxy_buffered_events', help: 'Events kept for disconnected sessions and unheld shards', registers: [registry] }),
    bufferOverflow: new Counter({ name: 'proxy_buffer_overflow_total', help: 'Events dropped because a buffer was full', labelNames: ['shard'], registers: [registry] }),
    latency: new Gauge({ name: 'proxy_upstream_latency_ms', help: 'Upstream heartbeat round trip', labelNames: ['shard'], registers: [registry] }),
    memorySaving: new Gauge({ name: 'proxy_memory_saving_mode', help: "1 while V8's memory-saving mode is on (the guild state filling), else 0", registers: [registry] }),
  };
}

export type ProxyMetrics = ReturnType<typeof createProxyMetrics>;
