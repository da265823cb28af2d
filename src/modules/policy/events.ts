/**
 * What the policy module publishes: audit records are its only output on the outbox, as
 * `audit.record` with `product: 'oversight'` (the audit module consumes them), written in the
 * transaction of the change they describe. Decision records are the exception when the node runs
 * the audit module: they go through its batched in-process `append` once their decision rows
 * commit (decisions.ts, AuditAppender), with the outbox as the fallback. It consumes one domain event, identity's
 * `identity.tenant.onboarded` (onboarding.ts: installs the default policy set).
 *
 * Event types:
 *  - `policy.created`, `policy.version.created`
 *  - `policy.version.proposed | enforced | superseded | revoked | rolled_back | shadow_started | shadow_stopped`
 *    (metadata: policy_id, version, from, to, reason)
 *  - `decision.made` (outcome = the decision; metadata: decision_id, policy/version, rule_ids, reasons,
 *    errors, risk score), `decision.refused` (delegation refused), `decision.failed_closed`
 *  - `template.published`, `template.version.published`, `template.deployed`, `template.forked`
 */
import type { Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';

export const AUDIT_TOPIC = 'audit.record';
export const AUDIT_PRODUCT = 'oversight';

export interface PolicyAudit {
  tenantId: string;
  eventType: string;
  actor: string;
  resourceId: string | null;
  action: string;
  outcome: string;
  metadata: Record<string, unknown>;
}

/** `kind:id` of a principal, as audit records name actors. */
export function actorOf(principal: Pick<Principal, 'kind' | 'id'>): string {
  return `${principal.kind}:${principal.id}`;
}

/** The outbox payload of an audit record. */
export function auditPayload(a: PolicyAudit) {
  return {
    product: AUDIT_PRODUCT,
    event_type: a.eventType,
    actor: a.actor,
    resource_id: a.resourceId,
    action: a.action,
    outcome: a.outcome,
    metadata: a.metadata,
  };
}

/**
 * Publishes one audit record in the caller's transaction.
 *
 * @example
 *   await recordAudit(trx, { tenantId, eventType: 'policy.version.enforced', actor: actorOf(p),
 *     resourceId: versionId, action: 'enforce', outcome: 'success', metadata: { reason } });
 */
export async function recordAudit(trx: Tx, a: PolicyAudit): Promise<void> {
  await publish(trx, { topic: AUDIT_TOPIC, tenantId: a.tenantId, payload: auditPayload(a) });
}
