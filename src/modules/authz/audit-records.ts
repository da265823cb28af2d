/**
 * Authz's audit records, published on `audit.record` with the payload the audit module consumes:
 * `{ product: 'authz', event_type, actor, resource_id, action, outcome, metadata }`.
 *
 * Mints and revocations are recorded in the transaction of the change. Denials of the in-process
 * check happen on the hot path, where no database write may wait: they go into a bounded buffer that
 * the module writes in one transaction every second and on stop (a crash loses at most that second).
 */
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';

export const AUDIT_TOPIC = 'audit.record';

export interface AuthzAuditInput {
  tenantId: string | null;
  eventType: string;
  actor: string;
  resourceId: string | null;
  action: string;
  outcome: 'success' | 'deny';
  metadata: Record<string, unknown>;
}

/**
 * @example
 *   await recordAudit(trx, { tenantId, eventType: 'delegation.minted', actor: 'user:…', resourceId: tokenId,
 *     action: 'delegation.mint', outcome: 'success', metadata: { agent_id } });
 */
export async function recordAudit(trx: Tx, input: AuthzAuditInput): Promise<void> {
  await publish(trx, {
    topic: AUDIT_TOPIC,
    tenantId: input.tenantId,
    payload: {
      product: 'authz',
      event_type: input.eventType,
      actor: input.actor,
      resource_id: input.resourceId,
      action: input.action,
      outcome: input.outcome,
      metadata: input.metadata,
    },
  });
}

/** Denials waiting to be written; at most `max` (the oldest are dropped and counted in `dropped`). */
export class DenialBuffer {
  private pending: AuthzAuditInput[] = [];
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly max = 10_000,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(record: AuthzAuditInput): void {
    if (this.pending.length >= this.max) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(record);
  }

  /** Writes what is buffered in one transaction; returns how many records were written. */
  async flush(): Promise<number> {
    if (this.pending.length === 0) return 0;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.db.transaction(async (trx) => {
        for (const r of batch) await recordAudit(trx, r);
      });
    } catch (err) {
      // Put them back (bounded) so a database hiccup does not lose them.
      this.pending = [...batch, ...this.pending].slice(-this.max);
      throw err;
    }
    return batch.length;
  }
}
