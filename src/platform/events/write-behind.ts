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
  private pending: T[] = [];
  /** Items dropped because `max` were already waiting. */
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly write: (trx: Tx, item: T) => Promise<void>,
    private readonly max = 10_000,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(item: T): void {
    if (this.pending.length >= this.max) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(item);
  }

  /** Writes what is waiting in one transaction; returns how many items were written. */
  async flush(): Promise<number> {
    if (this.pending.length === 0) return 0;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.db.transaction(async (trx) => {
        for (const item of batch) await this.write(trx, item);
      });
    } catch (err) {
      this.pending = [...batch, ...this.pending].slice(-this.max);
      throw err;
    }
    return batch.length;
  }
}
