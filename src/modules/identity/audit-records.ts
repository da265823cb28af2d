/**
 * Identity's audit records, published on `audit.record` (the audit module consumes them) with the
 * decided payload `{ product: 'identity', event_type, actor, resource_id, action, outcome, metadata }`.
 *
 * Records of state changes are published in the transaction of the change (outbox). Authorization
 * denials happen at the edge on the hot path, where no database write may happen: they go into a
 * bounded in-memory buffer that the module flushes in one transaction every second and on stop.
 */
import type { Tx } from '../../platform/db/database.js';
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

/**
 * The audit record of a refused permission (written behind the request: platform/events/write-behind.ts).
 *
 * @example
 *   denials.add(denialRecord(principal, 'tenants:create'));
 */
export function denialRecord(principal: Principal, permission: string): AuditInput {
  return {
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
  };
}
