import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../platform/http/auth.js';
import { authorize, mayGrantRole, OPERATOR_ONLY, ROLES, type Role, roleGrants } from './roles.js';

const AREAS = [
  'tenants',
  'apikeys',
  'users',
  'audit',
  'agents',
  'delegations',
  'policies',
  'approvals',
  'platform',
  'auth',
];
const VERBS = [
  'read',
  'create',
  'update',
  'revoke',
  'write',
  'verify',
  'admin',
  'manage',
  'deactivate',
  'onboard',
  'self',
];
const permission = fc
  .tuple(fc.constantFrom(...AREAS), fc.constantFrom(...VERBS))
  .map(([a, v]) => `${a}:${v}`);
const role = fc.constantFrom(...ROLES);
const principal = (r: Role, scopes?: string[]): Principal => ({
  kind: 'api_key',
  id: 'k',
  tenantId: '01936f6e-0000-7000-8000-000000000000',
  roles: [r],
  ...(scopes ? { scopes } : {}),
});

describe('role → permission matrix', () => {
  it.each([
    ['owner', 'users:create', true],
    ['owner', 'tenants:create', false],
    ['owner', 'platform:admin', false],
    ['admin', 'apikeys:revoke', true],
    ['admin', 'tenants:deactivate', false],
    ['approver', 'approvals:decide', true],
    ['approver', 'users:create', false],
    ['auditor', 'audit:verify', true],
    ['auditor', 'audit:write', false],
    ['developer', 'agents:create', true],
    ['developer', 'users:read', false],
    ['viewer', 'agents:read', true],
    ['viewer', 'agents:create', false],
    ['viewer', 'auth:self', true],
    ['agent', 'agents:read', true],
    ['agent', 'agents:create', false],
    ['agent', 'apikeys:create', false],
    ['nobody', 'tenants:read', false],
  ])('%s holds %s: %s', (r, p, expected) => {
    expect(roleGrants(r, p)).toBe(expected);
  });

  it('never lets a tenant role hold an operator-only permission', () => {
    fc.assert(fc.property(role, fc.constantFrom(...OPERATOR_ONLY), (r, p) => !authorize(principal(r), p)));
  });

  it('lets the operator do everything and a tenant-less non-operator nothing', () => {
    fc.assert(
      fc.property(permission, (p) => {
        expect(authorize({ kind: 'operator', id: 'operator', tenantId: null, roles: [] }, p)).toBe(true);
        expect(authorize({ kind: 'user', id: 'u', tenantId: null, roles: ['owner'] }, p)).toBe(false);
      }),
    );
  });

  it('scopes only narrow: a scoped key never holds what its role does not', () => {
    fc.assert(
      fc.property(
        role,
        fc.array(
          fc.oneof(
            permission,
            fc.constantFrom(...AREAS).map((a) => `${a}:*`),
            fc.constant('*'),
          ),
        ),
        permission,
        (r, scopes, p) => {
          if (authorize(principal(r, scopes), p)) expect(authorize(principal(r), p)).toBe(true);
        },
      ),
    );
  });

  it('a role one may hand out grants nothing the giver lacks (no escalation)', () => {
    fc.assert(
      fc.property(role, role, permission, (giver, given, p) => {
        if (mayGrantRole(principal(giver), given) && roleGrants(given, p))
          expect(roleGrants(giver, p)).toBe(true);
      }),
    );
    expect(mayGrantRole(principal('admin'), 'owner')).toBe(false);
    expect(mayGrantRole(principal('developer'), 'viewer')).toBe(true);
    expect(mayGrantRole(principal('developer'), 'auditor')).toBe(false); // auditors read users; developers do not
  });
});
