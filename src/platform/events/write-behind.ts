/**
 * Writes taken off a hot path and done later, in one transaction per flush: audit records of
 * denials (a refused request should not wait on the database to be refused). Bounded: past `max`
 * waiting, the oldest are dropped and counted, so a flood of refusals cannot exhaust memory; a
 * flush that fails puts its batch back (still bounded) for the next one.
 *
 * @example
 *   const denials = new WriteBehind(db, recordAudit);
 *   denials.add(record);                 // on the hot path: an array push
 *   await denials.flush();               // on a timer and at shutdown
 */
import type { Database, Tx } from '../db/database.js';

export class WriteBehind<T> {
  /** Waiting items from `head` on; those before it were dropped (compacted once `max` of them). */
  private pending: T[] = [];
  private head = 0;
  /** Items dropped because `max` were already waiting. */
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly write: (trx: Tx, item: T) => Promise<void>,
    private readonly max = 10_000,
  ) {}

  get size(): number {
    return this.pending.length - this.head;
  }

  /** O(1) amortised, full or not: a flood of adds past `max` never shifts the whole array. */
  add(item: T): void {
    if (this.size >= this.max) {
      this.pending[this.head] = undefined as T; // released now, not at the next compaction
      this.head++;
      this.dropped++;
      if (this.head >= this.max) {
        this.pending = this.pending.slice(this.head);
        this.head = 0;
      }
    }
    this.pending.push(item);
  }

  /** Writes what is waiting in one transaction; returns how many items were written. */
  async flush(): Promise<number> {
    if (this.size === 0) return 0;
    const batch = this.head === 0 ? this.pending : this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
    try {
      await this.db.transaction(async (trx) => {
        for (const item of batch) await this.write(trx, item);
      });
    } catch (err) {
      // Back in front of what arrived meanwhile, still bounded: the oldest beyond `max` are dropped.
      const waiting = [...batch, ...this.pending.slice(this.head)];
      const over = Math.max(0, waiting.length - this.max);
      this.dropped += over;
      this.pending = waiting.slice(over);
      this.head = 0;
      throw err;
    }
    return batch.length;
  }
}
