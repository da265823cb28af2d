/**
 * Identity's audit records, published on `audit.record` (the audit module consumes them) with the
 * decided payload `{ product: 'identity', event_type, actor, resource_id, action, outcome, metadata }`.
 *
 * Records of state changes are published in the transaction of the change (outbox). Authorization
 * denials happen at the edge on the hot path, where no database write may happen: they go into a
 * bounded in-memory buffer that the module flushes in one transaction every second and on stop.
 */
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';

export const AUDIT_TOPIC = 'audit.record';

export interface AuditInput {
  tenantId: string | null;
  eventType: string;
  actor: string;
  resourceId: string | null;
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  metadata?: Record<string, unknown>;
}

/** `kind:id` of a principal, as audit records name actors. */
export function actorOf(principal: Principal | undefined): string {
  return principal ? `${principal.kind}:${principal.id}` : 'anonymous';
}

/**
 * Publish one audit record inside the caller's transaction.
 *
 * @example
 *   await recordAudit(trx, { tenantId, eventType: 'api_key.created', actor: actorOf(p), resourceId: key.id,
 *     action: 'create', outcome: 'success' });
 */
export async function recordAudit(trx: Tx, input: AuditInput): Promise<void> {
  await publish(trx, {
    topic: AUDIT_TOPIC,
    tenantId: input.tenantId,
    payload: {
      product: 'identity',
      event_type: input.eventType,
      actor: input.actor,
      resource_id: input.resourceId,
      action: input.action,
      outcome: input.outcome,
      metadata: input.metadata ?? {},
    },
  });
}

/** Denials buffered off the hot path; at most `max` waiting (the oldest are dropped and counted). */
export class DenialBuffer {
  private pending: AuditInput[] = [];
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly max = 10_000,
  ) {}

  add(principal: Principal, permission: string): void {
    if (this.pending.length >= this.max) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push({
      tenantId: principal.tenantId,
      eventType: 'authorization.denied',
      actor: actorOf(principal),
      resourceId: null,
      action: permission,
      outcome: 'denied',
      metadata: {
        permission,
        roles: principal.roles,
        ...(principal.scopes ? { scopes: principal.scopes } : {}),
      },
    });
  }

  /** Writes what is buffered; returns how many records were written. */
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
