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
  userNotFound: defineProblem({
    slug: 'user-not-found',
    status: 404,
    title: 'User not found',
    description:
      'No user with this id is visible to the caller (users of other tenants are reported as not found).',
  }),
  emailTaken: defineProblem({
    slug: 'email-taken',
    status: 409,
    title: 'Email already in use',
    description: 'An email address belongs to one account only (it is the login name). Use another address.',
  }),
  apiKeyNotFound: defineProblem({
    slug: 'api-key-not-found',
    status: 404,
    title: 'API key not found',
    description:
      'No API key with this id is visible to the caller (keys of other tenants are reported as not found).',
  }),
  roleNotGrantable: defineProblem({
    slug: 'role-not-grantable',
    status: 403,
    title: 'Role or scope beyond your own',
    description:
      'A user or API key can only be given a role (and scopes) whose permissions the caller holds itself.',
  }),
  invalidExpiry: defineProblem({
    slug: 'invalid-expiry',
    status: 400,
    title: 'Invalid expiry',
    description: '`expires_at` must be an ISO 8601 date-time in the future (at most 10 years ahead).',
  }),
  invalidCredentials: defineProblem({
    slug: 'invalid-credentials',
    status: 401,
    title: 'Wrong email or password',
    description: 'The email and password do not match an account. Check both and retry.',
  }),
  accountDisabled: defineProblem({
    slug: 'account-disabled',
    status: 403,
    title: 'Account disabled',
    description: 'The account, or its tenant, has been disabled. Ask an administrator of the tenant.',
  }),
  tooManyLoginAttempts: defineProblem({
    slug: 'too-many-login-attempts',
    status: 429,
    title: 'Too many login attempts',
    description:
      'Too many failed logins for this email or from this address. Wait for the Retry-After seconds, then retry.',
  }),
  tenantAlreadyOnboarded: defineProblem({
    slug: 'tenant-already-onboarded',
    status: 409,
    title: 'Tenant already onboarded',
    description: 'A tenant is onboarded once. Create further users and API keys with their own routes.',
  }),
  tenantDeactivated: defineProblem({
    slug: 'tenant-deactivated',
    status: 409,
    title: 'Tenant deactivated',
    description: 'The tenant is deactivated: its data is kept but it cannot be changed or onboarded.',
  }),
  invalidIfMatch: defineProblem({
    slug: 'invalid-if-match',
    status: 400,
    title: 'Invalid If-Match',
    description: 'If-Match must be the ETag of the object as returned by GET (a quoted version, e.g. "3").',
  }),
};
