/** The audit module's error catalogue: stable problem types, HTTP status, human titles. */
import { defineProblem } from '../../platform/http/problem.js';

export const AuditProblems = {
  recordNotFound: defineProblem({
    slug: 'audit-record-not-found',
    status: 404,
    title: 'Audit record not found',
    description:
      'No audit record with this id in the tenant’s log (records of other tenants are reported as not found). A record appended a moment ago may still be in the write buffer: retry after a second.',
  }),
  treeHeadNotFound: defineProblem({
    slug: 'audit-tree-head-not-found',
    status: 404,
    title: 'Tree head not found',
    description:
      'No signed tree head of this size exists in the tenant’s log. Heads are signed about once a second while records arrive; list sizes with GET /v1/audit/sth.',
  }),
  invalidRecord: defineProblem({
    slug: 'audit-invalid-record',
    status: 400,
    title: 'Invalid audit record',
    description:
      'A field of the audit record is missing, too long, or not representable as canonical JSON (RFC 8785). `field` names it.',
  }),
  invalidSettings: defineProblem({
    slug: 'audit-invalid-settings',
    status: 400,
    title: 'Invalid audit settings',
    description:
      'A setting names something the audit module does not know (a redaction kind that does not exist). `field` names it; the detail lists what is allowed.',
  }),
  invalidRange: defineProblem({
    slug: 'audit-invalid-range',
    status: 400,
    title: 'Invalid range',
    description:
      'Sizes, indexes or times must be ordered (first ≤ second, from ≤ to), within the signed log, and within the per-request limit. `field` names the offender.',
  }),
  invalidCursor: defineProblem({
    slug: 'audit-invalid-cursor',
    status: 400,
    title: 'Invalid cursor',
    description: 'The `cursor` must be a `next_cursor` value returned by GET /v1/audit/logs.',
  }),
  bufferFull: defineProblem({
    slug: 'audit-buffer-full',
    status: 503,
    title: 'Audit buffer full',
    description:
      'The node’s audit write buffer is full because the database is not keeping up or is unavailable. Retry after the Retry-After seconds.',
  }),
  tooLarge: defineProblem({
    slug: 'audit-range-too-large',
    status: 400,
    title: 'Range too large',
    description:
      'Verification and exports read at most the documented number of records per request. Narrow the range (from/to or from_index/to_index) and repeat.',
  }),
};
