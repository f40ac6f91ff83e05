// One teardown path per process: SIGTERM/SIGINT run the registered steps in reverse order
// (stop accepting first, close connections last), then exit 0.
import type { Logger } from 'pino';

type Step = { name: string; run: () => Promise<unknown> | unknown };

export class Shutdown {
  private readonly steps: Step[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Registers a step; steps run last-registered first. */
  add(name: string, run: Step['run']): void {
    this.steps.push({ name, run });
  }

  listen(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.logger.info({ signal }, 'shutting down');
        void this.run().then(() => process.exit(0));
      });
    }
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    const timer = setTimeout(() => {
      this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    for (const step of [...this.steps].reverse()) {
      try {
        await step.run();
      } catch (err) {
        this.logger.warn({ err, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
  }
}
