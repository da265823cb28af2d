/** Identity's error catalogue: stable problem types, HTTP status, human titles. */
import { defineProblem } from '../../platform/http/problem.js';

export const IdentityProblems = {
  tenantNotFound: defineProblem({
    slug: 'tenant-not-found',
    status: 404,
    title: 'Tenant not found',
    description:
      'No tenant with this id is visible to the caller (tenants other than your own are reported as not found).',
  }),
  tenantNameTaken: defineProblem({
    slug: 'tenant-name-taken',
    status: 409,
    title: 'Tenant name already in use',
    description: 'Tenant names are unique, ignoring case. Choose another name, or fetch the existing tenant.',
  }),
  invalidCursor: defineProblem({
    slug: 'invalid-cursor',
    status: 400,
    title: 'Invalid cursor',
    description: 'The `cursor` must be a `next_cursor` value returned by the same list endpoint.',
  }),
};
