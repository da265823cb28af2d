/**
 * Which tenant a request acts in. Tenant principals (users, API keys, agents) always act in their
 * own tenant. The operator, who belongs to none, names one with the `X-Warden-Tenant` header on
 * tenant-scoped routes.
 *
 * @example
 *   const tenantId = tenantOf(request); // throws a 400 problem if the operator named none
 */
import type { FastifyRequest } from 'fastify';
import { isUuid } from '../ids.js';
import { defineProblem } from './problem.js';

export const TenantScopeProblems = {
  tenantRequired: defineProblem({
    slug: 'tenant-required',
    status: 400,
    title: 'Tenant required',
    description:
      'This route works inside one tenant. The operator names it with the X-Warden-Tenant header (a tenant id); other credentials act in their own tenant.',
  }),
};

export function tenantOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.tenantId) return principal.tenantId;
  const header = request.headers['x-warden-tenant'];
  if (principal?.kind === 'operator' && typeof header === 'string' && isUuid(header))
    return header.toLowerCase();
  throw TenantScopeProblems.tenantRequired.create(
    header === undefined
      ? 'send X-Warden-Tenant: <tenant id> to act inside a tenant as the operator'
      : 'X-Warden-Tenant must be a tenant id (UUID)',
    { field: 'header.x-warden-tenant' },
  );
}
