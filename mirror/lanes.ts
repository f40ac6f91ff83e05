// One lane per source channel: a channel's events run one after another, in delivery order, and
// channels run side by side, so a busy (or rate-limited) channel never holds up another. Lanes
// outlive AMQP channels: a delivery redelivered after a reconnect queues behind the same
// message's first run, which has recorded its send by then.
export class Lanes {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` after every earlier piece of work of `key`; its failure is the caller's (never the lane's). */
  run(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }

  /** Resolves once all work queued so far has ended. */
  async drain(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}
