/**
 * A background loop: runs `tick` now and then every `intervalMs`, sooner when woken, one tick at a
 * time. `stop()` waits for the running tick, so shutdown never cuts a batch in half.
 *
 * @example
 *   const loop = new PollingLoop('outbox-relay', 250, async () => relay.runOnce(), log);
 *   loop.start(); loop.wake(); await loop.stop();
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LoopLogger {
  error(obj: object, msg: string): void;
}

export class PollingLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private again = false;
  // Ticks run in the async context the loop was built in, not in that of whoever woke it (which
  // may be a transaction callback whose context must not leak into background work).
  private readonly inOwnContext = AsyncLocalStorage.snapshot();

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    /** Returns true when it did a full batch and should run again at once. */
    private readonly tick: () => Promise<boolean | undefined>,
    private readonly log: LoopLogger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Run soon (new work arrived). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Run one tick now and wait for it (tests, shutdown flush). */
  async runNow(): Promise<void> {
    while (this.running) await this.running;
    await this.execute();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running) await this.running;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.inOwnContext(() => this.execute()).then((more) => {
        if (this.stopped) return;
        const soon = more || this.again;
        this.again = false;
        this.schedule(soon ? 0 : this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async execute(): Promise<boolean> {
    let more = false;
    const run = (async () => {
      try {
        more = (await this.tick()) === true;
      } catch (err) {
        this.log.error({ err, loop: this.name }, 'background loop tick failed');
      }
    })();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
    }
    return more;
  }
}
