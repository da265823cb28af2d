/**
 * Authz's audit records, published on `audit.record` with the payload the audit module consumes:
 * `{ product: 'authz', event_type, actor, resource_id, action, outcome, metadata }`.
 *
 * Mints and revocations are recorded in the transaction of the change. Denials of the in-process
 * check happen on the hot path, where no database write may wait: they go into a bounded buffer that
 * the module writes in one transaction every second and on stop (a crash loses at most that second).
 */
import type { Tx } from '../../platform/db/database.js';
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
