/**
 * Roles and permissions: the one place that says which role may do what.
 *
 * A permission is `<area>:<verb>` (`apikeys:create`). A grant is a permission, `<area>:*` (every
 * verb of an area) or `*` (every permission a tenant may hold). Every `/v1` route declares the
 * permission it needs; the edge asks `authorize(principal, permission)` before the body is read.
 *
 * | role      | grants                                                                                   |
 * | --------- | ---------------------------------------------------------------------------------------- |
 * | operator  | everything, including the operator-only permissions below (deployment operator token)    |
 * | owner     | `*`: every tenant permission                                                             |
 * | admin     | tenants:read/update, apikeys:*, users:*, agents:*, delegations:*, policies:*, oversight:evaluate, approvals:*, audit:read/write/verify |
 * | approver  | tenants:read, users:read, agents:read, delegations:read, policies:read, approvals:*, audit:read |
 * | auditor   | tenants:read, users:read, apikeys:read, agents:read, delegations:read, policies:read, approvals:read, audit:read/verify |
 * | developer | tenants:read, apikeys:read/create, agents:*, delegations:*, policies:read/simulate/create/propose, oversight:evaluate, approvals:read, audit:read |
 * | viewer    | tenants:read, agents:read, delegations:read, policies:read, approvals:read                |
 * | agent     | agents:read, oversight:evaluate, delegations:verify (agent principals only; never given to a user or key; modules whose routes agents call add their permission here) |
 *
 * Policy permissions (issue 6): authors (developer) create drafts and propose them
 * (`policies:create`, `policies:propose`), run tests and simulations (`policies:simulate`);
 * admins also enforce, roll back and revoke (`policies:enforce`, `policies:revoke`) and publish
 * templates (`policies:publish`), all through `policies:*`. `oversight:evaluate` asks for a decision.
 *
 * Every role also holds `auth:self` (log out, read one's own identity) and `audit:key` (the public
 * key that signs audit tree heads).
 * Operator-only (no tenant role holds them, not even through `*`): platform:admin, tenants:create,
 * tenants:deactivate, tenants:onboard.
 *
 * API keys carry one role and optional scopes: a key may do what its role grants AND, when it has
 * scopes, what one of its scopes matches. A key or user can only be given a role whose grants the
 * creator holds (no escalation through credentials).
 */
import type { Authorizer, Principal } from '../../platform/http/auth.js';

export const ROLES = ['owner', 'admin', 'approver', 'auditor', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const OPERATOR_ONLY: ReadonlySet<string> = new Set([
  'platform:admin',
  'tenants:create',
  'tenants:deactivate',
  'tenants:onboard',
]);

export const ROLE_GRANTS: Readonly<Record<Role, readonly string[]>> = {
  owner: ['*'],
  admin: [
    'auth:self',
    'audit:key',
    'tenants:read',
    'tenants:update',
    'apikeys:*',
    'users:*',
    'agents:*',
    'delegations:*',
    'policies:*',
    'oversight:evaluate',
    'approvals:*',
    'audit:read',
    'audit:write',
    'audit:verify',
  ],
  approver: [
    'auth:self',
    'audit:key',
    'tenants:read',
    'users:read',
    'agents:read',
    'delegations:read',
    'policies:read',
    'approvals:*',
    'audit:read',
  ],
  auditor: [
    'auth:self',
    'audit:key',
    'tenants:read',
    'users:read',
    'apikeys:read',
    'agents:read',
    'delegations:read',
    'policies:read',
    'approvals:read',
    'audit:read',
    'audit:verify',
  ],
  developer: [
    'auth:self',
    'audit:key',
    'tenants:read',
    'apikeys:read',
    'apikeys:create',
    'agents:*',
    'delegations:*',
    'policies:read',
    'policies:simulate',
    'policies:create',
    'policies:propose',
    'oversight:evaluate',
    'approvals:read',
    'audit:read',
  ],
  viewer: [
    'auth:self',
    'audit:key',
    'tenants:read',
    'agents:read',
    'delegations:read',
    'policies:read',
    'approvals:read',
  ],
};

/** The role of agent principals (RFC 9421-signed requests). Not one of ROLES: no user or key holds it. */
export const AGENT_ROLE = 'agent';
const AGENT_GRANTS: readonly string[] = [
  'auth:self',
  'audit:key',
  'agents:read',
  'oversight:evaluate',
  'delegations:verify',
];

const PERMISSION_RE = /^[a-z][a-z0-9_-]*:([a-z][a-z0-9_-]*|\*)$/;

/** A permission or grant pattern as accepted in API-key scopes: `area:verb`, `area:*` or `*`. */
export function isPermissionPattern(value: string): boolean {
  return value === '*' || PERMISSION_RE.test(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether one grant pattern covers a permission (`*` never covers an operator-only one). */
function covers(grant: string, permission: string): boolean {
  if (grant === permission) return !OPERATOR_ONLY.has(permission);
  if (grant === '*') return !OPERATOR_ONLY.has(permission);
  if (grant.endsWith(':*'))
    return permission.startsWith(grant.slice(0, -1)) && !OPERATOR_ONLY.has(permission);
  return false;
}

// Route permissions are a finite set, so role × permission answers are memoised: after warm-up the
// hot path is one Map lookup per role.
const memo = new Map<string, boolean>();

/**
 * Whether a role grants a permission.
 *
 * @example
 *   roleGrants('auditor', 'audit:verify'); // true
 *   roleGrants('owner', 'tenants:create'); // false: operator-only
 */
export function roleGrants(role: string, permission: string): boolean {
  const key = `${role}\u0000${permission}`;
  let answer = memo.get(key);
  if (answer === undefined) {
    const grants = isRole(role) ? ROLE_GRANTS[role] : role === AGENT_ROLE ? AGENT_GRANTS : [];
    answer = grants.some((g) => covers(g, permission));
    if (memo.size < 10_000) memo.set(key, answer);
  }
  return answer;
}

/** Whether a scope list (from an API key) lets a permission through; no scopes = no narrowing. */
function scopesAllow(scopes: readonly string[] | undefined, permission: string): boolean {
  if (!scopes || scopes.length === 0) return true;
  for (const s of scopes) if (s === permission || covers(s, permission)) return true;
  return false;
}

/**
 * Role-based authorization for the edge: the operator holds everything; anyone else needs a role
 * that grants the permission and, for a scoped API key, a scope that matches it.
 *
 * @example
 *   authorize({ kind: 'api_key', id, tenantId, roles: ['developer'], scopes: ['agents:*'] }, 'agents:create'); // true
 */
export const authorize: Authorizer = (principal: Principal, permission: string): boolean => {
  if (principal.kind === 'operator') return true;
  if (!principal.tenantId) return false;
  let granted = false;
  for (const role of principal.roles) {
    if (roleGrants(role, permission)) {
      granted = true;
      break;
    }
  }
  return granted && scopesAllow(principal.scopes, permission);
};

/**
 * Whether `principal` may hand out `role` (to a new user or API key): every grant of that role must
 * be something the principal itself holds. The operator may hand out any role.
 */
export function mayGrantRole(principal: Principal, role: Role): boolean {
  if (principal.kind === 'operator') return true;
  if (principal.roles.includes('owner')) return true;
  if (role === 'owner') return false;
  return ROLE_GRANTS[role].every((g) =>
    principal.roles.some((r) => isRole(r) && grantWithin(g, ROLE_GRANTS[r])),
  );
}

/** Whether grant `g` is contained in one of `held` (an `area:*` needs `area:*` or `*`). */
function grantWithin(g: string, held: readonly string[]): boolean {
  return held.some((h) => h === '*' || h === g || (h.endsWith(':*') && g.startsWith(h.slice(0, -1))));
}
