/**
 * The authz module's domain events (published through the outbox in the transaction of the change).
 *
 * - `authz.delegation.minted` `{ token_id, agent_id, actions, resources, not_after, max_depth, actor }`
 * - `authz.delegation.revoked` `{ token_id, agent_id, not_after, actor, reason }`: every node's
 *   revocation consumer evicts the token id from its verified-token cache and refuses it until
 *   `not_after` (ISO 8601), so a revocation holds on all nodes within the bus latency (≤ 1 s).
 * - `audit.record` (consumed by the audit module): mints, revocations, and every denial of the
 *   in-process check, `{ product: 'authz', event_type, actor, resource_id, action, outcome, metadata }`.
 */
export const AuthzEvents = {
  minted: 'authz.delegation.minted',
  revoked: 'authz.delegation.revoked',
} as const;

export interface DelegationRevokedPayload extends Record<string, unknown> {
  token_id: string;
  agent_id: string;
  /** ISO 8601: after this the token is dead anyway, so nodes may forget the revocation. */
  not_after: string;
  actor: string;
  reason: string | null;
}

/** Reads a revocation event's payload; undefined when it is not one (a bad event is skipped, not retried). */
export function parseRevoked(
  payload: Record<string, unknown>,
): { tokenId: string; notAfter: number } | undefined {
  const tokenId = payload.token_id;
  const notAfter = typeof payload.not_after === 'string' ? Date.parse(payload.not_after) : Number.NaN;
  if (typeof tokenId !== 'string' || tokenId.length === 0 || tokenId.length > 256 || Number.isNaN(notAfter)) {
    return undefined;
  }
  return { tokenId, notAfter: Math.ceil(notAfter / 1000) };
}
