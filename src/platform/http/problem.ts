/**
 * RFC 9457 problem details. Every error a client sees is one of these, with a stable `type`.
 *
 * Types are relative URIs `/problems/<slug>`: the server itself serves a page for each at that
 * path, so a client can follow the link to the explanation of the error it got.
 */
import { Type } from 'typebox';

export interface ProblemSpec {
  slug: string;
  status: number;
  title: string;
  /** What it means and what to do, shown at /problems/<slug>. */
  description: string;
}

const catalogue = new Map<string, ProblemSpec>();

/**
 * Register a problem type in the catalogue (each module declares its own in errors.ts).
 *
 * @example
 *   export const TenantNotFound = defineProblem({ slug: 'tenant-not-found', status: 404, title: 'Tenant not found',
 *     description: 'No tenant with this id is visible to the caller.' });
 *   throw TenantNotFound.create(`no tenant ${id}`);
 */
export function defineProblem(spec: ProblemSpec) {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(spec.slug))
    throw new Error(`problem slug ${spec.slug} must be kebab-case`);
  const existing = catalogue.get(spec.slug);
  if (existing && existing.status !== spec.status) throw new Error(`problem ${spec.slug} defined twice`);
  catalogue.set(spec.slug, spec);
  return {
    ...spec,
    type: problemType(spec.slug),
    create(detail: string, extra: ProblemExtra = {}): ProblemError {
      return new ProblemError(spec, detail, extra);
    },
  };
}

export function problemType(slug: string): string {
  return `/problems/${slug}`;
}

export function problemCatalogue(): ProblemSpec[] {
  return [...catalogue.values()].sort((a, b) => a.slug.localeCompare(b.slug));
}

export interface ProblemExtra {
  /** The offending input, as a JSON pointer or parameter name (`/name`, `querystring.limit`). */
  field?: string;
  /** Extra members (e.g. `errors`, `retry_after`) added to the body. */
  [key: string]: unknown;
  headers?: Record<string, string>;
}

export class ProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    spec: ProblemSpec,
    readonly detail: string,
    extra: ProblemExtra = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.status = spec.status;
    this.type = problemType(spec.slug);
    this.title = spec.title;
    const { headers, ...rest } = extra;
    this.headers = headers ?? {};
    this.extra = rest;
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...this.extra,
    };
  }
}

/** The response schema of every error, for OpenAPI. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'Stable problem type URI; follow it for an explanation' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What was wrong and what is allowed' }),
    instance: Type.Optional(Type.String({ description: 'The request id' })),
    field: Type.Optional(Type.String({ description: 'The offending input (JSON pointer or parameter)' })),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
        description: 'Every validation error',
      }),
    ),
    retry_after: Type.Optional(Type.Integer({ description: 'Seconds to wait (429, 503)' })),
  },
  { $id: 'Problem', additionalProperties: true },
);

// The platform's own problems.
export const Problems = {
  validation: defineProblem({
    slug: 'validation-failed',
    status: 400,
    title: 'Request validation failed',
    description:
      'A field of the body, query or path is missing, of the wrong type, or out of range. `field` names the first offender and `errors` lists all.',
  }),
  malformedJson: defineProblem({
    slug: 'malformed-json',
    status: 400,
    title: 'Malformed JSON body',
    description: 'The body is not valid JSON. Send a JSON document with Content-Type: application/json.',
  }),
  unauthenticated: defineProblem({
    slug: 'unauthenticated',
    status: 401,
    title: 'Authentication required',
    description:
      'The request carries no credential, or one that is wrong, expired or revoked. Send `Authorization: Bearer <token>` (operator token, API key or session), or sign the request as an agent.',
  }),
  forbidden: defineProblem({
    slug: 'forbidden',
    status: 403,
    title: 'Permission denied',
    description: 'The credential is valid but lacks the permission this operation needs.',
  }),
  notFound: defineProblem({
    slug: 'not-found',
    status: 404,
    title: 'Not found',
    description:
      'No route, or no object with this id visible to the caller. Objects of other tenants are reported as not found.',
  }),
  methodNotAllowed: defineProblem({
    slug: 'method-not-allowed',
    status: 405,
    title: 'Method not allowed',
    description: 'The path exists but does not accept this HTTP method.',
  }),
  conflict: defineProblem({
    slug: 'conflict',
    status: 409,
    title: 'Conflict',
    description: 'The request conflicts with the current state (a concurrent change, or a duplicate).',
  }),
  idempotencyConflict: defineProblem({
    slug: 'idempotency-key-reused',
    status: 422,
    title: 'Idempotency key reused with a different request',
    description:
      'An Idempotency-Key can be retried only with the identical request. Use a new key for a new request.',
  }),
  idempotencyInProgress: defineProblem({
    slug: 'idempotency-key-in-progress',
    status: 409,
    title: 'A request with this idempotency key is still running',
    description: 'Wait for the first request with this Idempotency-Key to finish, then retry.',
  }),
  preconditionFailed: defineProblem({
    slug: 'precondition-failed',
    status: 412,
    title: 'Precondition failed',
    description:
      'The If-Match ETag no longer matches: the object changed since you read it. Read it again and retry.',
  }),
  payloadTooLarge: defineProblem({
    slug: 'payload-too-large',
    status: 413,
    title: 'Request body too large',
    description: 'The body exceeds the size limit (WARDEN_BODY_LIMIT_BYTES).',
  }),
  unsupportedMediaType: defineProblem({
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
    description: 'Send request bodies as application/json.',
  }),
  rateLimited: defineProblem({
    slug: 'rate-limited',
    status: 429,
    title: 'Too many requests',
    description: 'This principal exceeded its request rate. Wait for the Retry-After seconds, then retry.',
  }),
  internal: defineProblem({
    slug: 'internal-error',
    status: 500,
    title: 'Internal error',
    description:
      'Warden failed to handle the request. Nothing was changed unless the response said so; the request id in `instance` locates the server log entry.',
  }),
  overloaded: defineProblem({
    slug: 'overloaded',
    status: 503,
    title: 'Server overloaded',
    description:
      'The node is shedding load to protect its latency. Retry after the Retry-After seconds, ideally on another node.',
  }),
  unavailable: defineProblem({
    slug: 'unavailable',
    status: 503,
    title: 'Service unavailable',
    description:
      'A backend this request needs (database, counters, bus) did not answer, or the node is shutting down.',
  }),
};
