/**
 * The authz module's error catalogue: stable problem types, HTTP status, human titles.
 *
 * 401 or 403 for a refused delegation token (RFC 9110 §15.5.2–3, RFC 6750 §3.1): a token that is not a
 * valid credential at all — unreadable, too large, forged or tampered, expired, revoked, of a tenant
 * with no root key, or contradicting itself (a widened caveat, too many hops) — is 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`: presenting it again cannot succeed. A genuine,
 * live token that does not cover this caller, action or resource is 403 (`insufficient_scope`): the
 * caller is known, the grant is too narrow.
 */

import { defineProblem, type ProblemError } from '../../platform/http/problem.js';
import type { TokenFailureCode } from './delegation-token.js';

const invalidToken = (slug: string, title: string, description: string) =>
  defineProblem({ slug, status: 401, title, description });

export const AuthzProblems = {
  tokenMissing: invalidToken(
    'delegation-token-missing',
    'Delegation token required',
    'An agent acts under a delegation token minted for it (POST /v1/delegations). Send it with the request.',
  ),
  tokenMalformed: invalidToken(
    'delegation-token-malformed',
    'Delegation token malformed',
    'The token is not a libmacaroons v2 token in base64url (truncated, altered framing, not base64), or a Warden caveat in it is missing or has a bad value, or it carries a condition Warden does not understand.',
  ),
  tokenTooLarge: invalidToken(
    'delegation-token-too-large',
    'Delegation token too large',
    'A token may be at most 16 KiB (binary) with at most 64 caveats. Attenuate from a shorter token.',
  ),
  signatureInvalid: invalidToken(
    'delegation-token-signature-invalid',
    'Delegation token signature invalid',
    'The HMAC chain of the token does not verify under its tenant’s root key: it was altered (a byte changed, a caveat removed) or was not minted by this deployment.',
  ),
  expired: invalidToken(
    'delegation-token-expired',
    'Delegation token expired',
    'The token’s not_after is in the past. Ask the tenant for a new token.',
  ),
  revoked: invalidToken(
    'delegation-token-revoked',
    'Delegation token revoked',
    'The token (or the root token it was attenuated from) was revoked. Ask the tenant for a new token.',
  ),
  widened: invalidToken(
    'delegation-token-widened',
    'Delegation token widens a caveat',
    'A later caveat of the token allows more than an earlier one (actions, resources or expiry). Attenuation can only narrow: append caveats that are subsets of the current ones.',
  ),
  depthExceeded: invalidToken(
    'delegation-token-depth-exceeded',
    'Delegation chain too deep',
    'The token was delegated more times than a `depth` caveat allows.',
  ),
  unknownTenant: invalidToken(
    'delegation-token-unknown-tenant',
    'Delegation token of an unknown tenant',
    'The tenant named by the token has no root key in this deployment, so the token cannot be genuine.',
  ),
  holderMismatch: defineProblem({
    slug: 'delegation-token-holder-mismatch',
    status: 403,
    title: 'Delegation token held by another agent',
    description:
      'A token is bound to its holder (the last `holder` caveat): only that agent, authenticated by its own key, may present it. A stolen or forwarded token is useless to anyone else.',
  }),
  actionNotPermitted: defineProblem({
    slug: 'delegation-action-not-permitted',
    status: 403,
    title: 'Action outside the delegation',
    description: 'The token’s `actions` caveat does not cover this action.',
  }),
  resourceNotPermitted: defineProblem({
    slug: 'delegation-resource-not-permitted',
    status: 403,
    title: 'Resource outside the delegation',
    description: 'The token’s `resources` caveat does not cover this resource.',
  }),
  verificationFailed: defineProblem({
    slug: 'delegation-verification-failed',
    status: 503,
    title: 'Delegation could not be verified',
    description:
      'Warden could not check the token (for example the database holding the root key did not answer). The request was refused rather than allowed; retry shortly.',
  }),
  delegationNotFound: defineProblem({
    slug: 'delegation-not-found',
    status: 404,
    title: 'Delegation not found',
    description:
      'No delegation with this id (or of this token) is visible to the caller: delegations of other tenants are reported as not found.',
  }),
  agentNotFound: defineProblem({
    slug: 'delegation-agent-not-found',
    status: 404,
    title: 'Agent not found',
    description: 'Tokens are minted for a registered agent of the caller’s tenant; no such agent is visible.',
  }),
  agentRevoked: defineProblem({
    slug: 'delegation-agent-revoked',
    status: 409,
    title: 'Agent revoked',
    description: 'The agent was revoked; no token can be minted for it.',
  }),
  invalidCaveat: defineProblem({
    slug: 'delegation-invalid-caveat',
    status: 400,
    title: 'Invalid delegation caveat',
    description:
      'An action pattern (`sandbox.exec`, `sandbox.*`), a resource pattern (`repo:acme/*`, `repo:acme/**`) or the depth is not valid. `field` names it.',
  }),
  invalidExpiry: defineProblem({
    slug: 'delegation-invalid-expiry',
    status: 400,
    title: 'Invalid delegation expiry',
    description:
      'Give either `ttl_seconds` or `expires_at` (not both): a moment in the future, at most 90 days ahead.',
  }),
  tokenUnreadable: defineProblem({
    slug: 'delegation-token-unreadable',
    status: 400,
    title: 'Token cannot be read',
    description:
      'The value given is not a libmacaroons v2 token in base64 or base64url, so it cannot be inspected.',
  }),
};

/**
 * The problem for a verifier failure code.
 *
 * @example
 *   throw problemForFailure('token_expired', 'the token expired at 1767225600');
 */
export function problemForFailure(code: TokenFailureCode | 'token_missing', detail: string): ProblemError {
  const p = PROBLEM_OF[code];
  // RFC 9110 §15.5.2: a 401 names the scheme; `invalid_token` as RFC 6750 §3.1 spells it.
  const headers: Record<string, string> =
    p.status === 401 ? { 'www-authenticate': 'Bearer realm="warden", error="invalid_token"' } : {};
  return p.create(detail, { reason: code, headers });
}

const PROBLEM_OF: Record<
  TokenFailureCode | 'token_missing',
  (typeof AuthzProblems)[keyof typeof AuthzProblems]
> = {
  token_missing: AuthzProblems.tokenMissing,
  token_malformed: AuthzProblems.tokenMalformed,
  token_too_large: AuthzProblems.tokenTooLarge,
  signature_invalid: AuthzProblems.signatureInvalid,
  token_expired: AuthzProblems.expired,
  holder_mismatch: AuthzProblems.holderMismatch,
  action_not_permitted: AuthzProblems.actionNotPermitted,
  resource_not_permitted: AuthzProblems.resourceNotPermitted,
  widened_caveat: AuthzProblems.widened,
  depth_exceeded: AuthzProblems.depthExceeded,
  unknown_caveat: AuthzProblems.tokenMalformed,
  third_party_caveat_unsupported: AuthzProblems.tokenMalformed,
  tenant_unknown: AuthzProblems.unknownTenant,
  token_revoked: AuthzProblems.revoked,
  internal_error: AuthzProblems.verificationFailed,
};
