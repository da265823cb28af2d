/**
 * Writes taken off a hot path and done later, in batches of one transaction each: audit records of
 * denials (a refused request should not wait on the database to be refused), the decision path's
 * outbox records and shadow disagreements. Bounded, with the overflow policy the caller needs:
 * `drop-oldest` (a flood of refusals cannot exhaust memory; what is dropped is counted) or `refuse`
 * (`add` returns false and the caller fails closed rather than lose the item). A batch that fails
 * goes back in front of what arrived meanwhile, for the next flush.
 *
 * @example
 *   const denials = new WriteBehind(db, { write: (trx, batch) => recordAll(trx, batch) });
 *   denials.add(record);                 // on the hot path: an array push
 *   await denials.flush();               // on the caller's timer and at shutdown,
 *   denials.start(100, onError); await denials.stop();   // or on a timer of its own
 */
import type { Database, Tx } from '../db/database.js';

export interface WriteBehindOptions<T> {
  /** Writes one batch inside its transaction. */
  write: (trx: Tx, batch: T[]) => Promise<void>;
  /** Items waiting at most (default 10,000). */
  max?: number;
  /** When `max` items wait: drop the oldest (counted in `dropped`), or refuse the new one. */
  whenFull?: 'drop-oldest' | 'refuse';
  /** Items per transaction (default: all that wait). */
  maxBatch?: number;
  /** Called after each batch commits, with its size (say, to wake the outbox relay). */
  onWritten?: (items: number) => void;
}

/** A batch writer from a one-item writer: the items one after the other, in the batch's transaction. */
export function oneByOne<T>(
  write: (trx: Tx, item: T) => Promise<void>,
): (trx: Tx, batch: T[]) => Promise<void> {
  return async (trx, batch) => {
    for (const item of batch) await write(trx, item);
  };
}

export class WriteBehind<T> {
  /** Waiting items from `head` on; those before it were dropped (compacted once `max` of them). */
  private pending: T[] = [];
  private head = 0;
  private flushing: Promise<unknown> = Promise.resolve();
  /** Items dropped because `max` were already waiting (`drop-oldest`). */
  dropped = 0;
  private readonly max: number;
  private readonly maxBatch: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: WriteBehindOptions<T>,
  ) {
    this.max = options.max ?? 10_000;
    this.maxBatch = options.maxBatch ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.pending.length - this.head;
  }

  /**
   * O(1) amortised, full or not: a flood of adds past `max` never shifts the whole array. Returns
   * false when full and the policy is `refuse` (the item was not taken).
   */
  add(item: T): boolean {
    if (this.size >= this.max) {
      if (this.options.whenFull === 'refuse') return false;
      this.pending[this.head] = undefined as T; // released now, not at the next compaction
      this.head++;
      this.dropped++;
      if (this.head >= this.max) {
        this.pending = this.pending.slice(this.head);
        this.head = 0;
      }
    }
    this.pending.push(item);
    return true;
  }

  /**
   * Writes what waits, `maxBatch` items per transaction; returns how many items were written.
   * Concurrent calls run one after the other. Throws if a batch fails (it waits again, in front).
   */
  flush(): Promise<number> {
    const run = this.flushing.then(() => this.drain());
    this.flushing = run.catch(() => {});
    return run;
  }

  private async drain(): Promise<number> {
    let written = 0;
    while (this.size > 0) {
      const waiting = this.head === 0 ? this.pending : this.pending.slice(this.head);
      const batch = waiting.length > this.maxBatch ? waiting.slice(0, this.maxBatch) : waiting;
      this.pending = batch === waiting ? [] : waiting.slice(batch.length);
      this.head = 0;
      try {
        await this.db.transaction((trx) => this.options.write(trx, batch));
      } catch (err) {
        this.putBack(batch);
        throw err;
      }
      written += batch.length;
      this.options.onWritten?.(batch.length);
    }
    return written;
  }

  /**
   * Flushes every `intervalMs` while anything waits (the timer does not keep the process alive);
   * a failed flush goes to `onError` and is tried again on the next tick.
   */
  start(intervalMs: number, onError: (err: unknown) => void): void {
    this.timer ??= setInterval(() => {
      if (this.size > 0) this.flush().catch(onError);
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what waits. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** A failed batch, back in front of what arrived meanwhile; `drop-oldest` keeps the newest `max`. */
  private putBack(batch: T[]): void {
    const waiting = [...batch, ...this.pending.slice(this.head)];
    const over = this.options.whenFull === 'refuse' ? 0 : Math.max(0, waiting.length - this.max);
    this.dropped += over;
    this.pending = over > 0 ? waiting.slice(over) : waiting;
    this.head = 0;
  }
}
