// One shard's dispatches on their way through the Redis state cache (which supplies `old`) to
// RabbitMQ, in order. Redis must never hold the event stream: an event waits for its cache
// write at most `timeoutMs`, and at most `maxPending` events wait at once. Past either bound
// the shard bypasses the cache: what is queued and what follows is published at once without
// `old`, and its cache writes are dropped (counted) until the late write comes back.
import type { GatewayDispatchPayload } from 'discord-api-types/v10';

export interface PipelineItem {
  payload: GatewayDispatchPayload;
  /** The previous entity from the proxy's guild state, when it had one. */
  known?: unknown;
}

export interface ShardPipelineOptions {
  /** The cache write of one event; resolves with its `old` (never rejects). */
  cache: (item: PipelineItem) => Promise<unknown>;
  publish: (item: PipelineItem, old: unknown) => void;
  /** A cache write skipped while Redis is late. */
  dropped: () => void;
  maxPending: number;
  timeoutMs: number;
}

export class ShardPipeline {
  private readonly queue: PipelineItem[] = [];
  private running = false;
  /** Set while a cache write is late: events skip the cache until it settles. */
  private bypassing = false;
  /** Ends the current wait early (the queue passed its bound). */
  private giveUp: (() => void) | undefined;

  constructor(private readonly opts: ShardPipelineOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  push(item: PipelineItem): void {
    if (this.bypassing) {
      this.opts.dropped();
      this.opts.publish(item, undefined);
      return;
    }
    this.queue.push(item);
    if (this.queue.length > this.opts.maxPending) this.giveUp?.();
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      const write = this.opts.cache(item);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        this.giveUp = () => resolve(undefined);
        timer = setTimeout(() => resolve(undefined), this.opts.timeoutMs);
      });
      const result = await Promise.race([write.then((old) => ({ old })), late]);
      clearTimeout(timer);
      this.giveUp = undefined;
      this.queue.shift();
      this.opts.publish(item, result?.old);
      if (!result) this.bypass(write);
    }
    this.running = false;
  }

  /** Redis is late: publish everything queued now, and skip the cache until `write` settles. */
  private bypass(write: Promise<unknown>): void {
    this.bypassing = true;
    for (const item of this.queue.splice(0)) {
      this.opts.dropped();
      this.opts.publish(item, undefined);
    }
    void write.finally(() => (this.bypassing = false));
  }
}
