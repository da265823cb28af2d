/**
 * The audit module's domain types and TypeBox schemas: the single source for validation,
 * TypeScript types and the OpenAPI document.
 */
import { type Static, Type } from 'typebox';

/** Limits shared by the HTTP schema and the in-process `append` checks (record.ts). */
export const RECORD_LIMITS = {
  productPattern: '^[a-z][a-z0-9_-]{0,63}$',
  eventTypePattern: '^[a-z][a-z0-9_.:-]{0,127}$',
  outcomePattern: '^[a-z][a-z0-9_-]{0,63}$',
  maxActor: 512,
  maxResourceId: 512,
  maxAction: 200,
  /** Canonical JSON bytes of `metadata`. */
  maxMetadataBytes: 64 * 1024,
} as const;

const Product = Type.String({
  pattern: RECORD_LIMITS.productPattern,
  description: 'The module or external system that produced the record (`metering`, `runtime`, …)',
});
const EventType = Type.String({
  pattern: RECORD_LIMITS.eventTypePattern,
  description: 'e.g. `sandbox.created`',
});
const Outcome = Type.String({
  pattern: RECORD_LIMITS.outcomePattern,
  description: '`success`, `failure`, `denied`, `allow`, …',
});

export const AppendBody = Type.Object(
  {
    product: Product,
    event_type: EventType,
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: RECORD_LIMITS.maxActor,
        description: 'Who acted (`user:<id>`, `agent:<id>`, an external system); default the caller',
      }),
    ),
    resource_id: Type.Optional(
      Type.Union([Type.String({ maxLength: RECORD_LIMITS.maxResourceId }), Type.Null()]),
    ),
    action: Type.String({ minLength: 1, maxLength: RECORD_LIMITS.maxAction }),
    outcome: Outcome,
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Free-form JSON (at most 64 KiB canonical); personal data is redacted before storage',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AppendBody = Static<typeof AppendBody>;

export const InclusionProof = Type.Object(
  {
    leaf_index: Type.Integer({ minimum: 0 }),
    tree_size: Type.Integer({ minimum: 1 }),
    audit_path: Type.Array(Type.String({ description: 'base64 SHA-256' }), {
      description: 'RFC 9162 §2.1.3 audit path, lowest level first',
    }),
  },
  { additionalProperties: false },
);

export const SignedTreeHead = Type.Object(
  {
    log_id: Type.String({ description: 'The tenant id (the log id bound into the signature)' }),
    tree_size: Type.Integer({ minimum: 0 }),
    timestamp: Type.Integer({ description: 'Milliseconds since the Unix epoch' }),
    sha256_root_hash: Type.String({ description: 'base64' }),
    tree_head_signature: Type.String({ description: 'base64 of the raw 64-byte Ed25519 signature' }),
  },
  { $id: 'AuditSignedTreeHead', additionalProperties: false },
);

export const RecordStatus = Type.Union([Type.Literal('active'), Type.Literal('expired')]);

/** A record as the API returns it: the stored (redacted) record plus where it sits in the log. */
export const AuditRecord = Type.Object(
  {
    record_id: Type.String({ format: 'uuid' }),
    tenant_id: Type.String({ format: 'uuid' }),
    leaf_index: Type.Integer({ minimum: 0 }),
    status: RecordStatus,
    product: Type.String(),
    event_type: Type.String(),
    actor: Type.Union([Type.String(), Type.Null()]),
    resource_id: Type.Union([Type.String(), Type.Null()]),
    action: Type.Union([Type.String(), Type.Null()]),
    outcome: Type.Union([Type.String(), Type.Null()]),
    timestamp: Type.String({ format: 'date-time' }),
    metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description: 'null once the record has expired',
    }),
    submitted_by: Type.Optional(Type.String()),
  },
  { $id: 'AuditRecord', additionalProperties: false },
);
export type AuditRecord = Static<typeof AuditRecord>;

export const AppendResponse = Type.Object(
  {
    record_id: Type.String({ format: 'uuid' }),
    leaf_index: Type.Integer({ minimum: 0 }),
    leaf_hash: Type.String({ description: 'base64 RFC 6962 leaf hash' }),
  },
  { additionalProperties: false },
);

export const RecordWithProof = Type.Object(
  {
    record: Type.Ref('AuditRecord'),
    canonical: Type.Union([Type.String(), Type.Null()], {
      description: 'base64 of the exact RFC 8785 bytes hashed as the leaf; null once expired',
    }),
    leaf_hash: Type.String({ description: 'base64' }),
    inclusion_proof: InclusionProof,
    tree_head: Type.Ref('AuditSignedTreeHead'),
  },
  { additionalProperties: false },
);

export const ListLogsQuery = Type.Object(
  {
    product: Type.Optional(Type.String({ pattern: RECORD_LIMITS.productPattern })),
    event_type: Type.Optional(Type.String({ pattern: RECORD_LIMITS.eventTypePattern })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: RECORD_LIMITS.maxActor })),
    resource: Type.Optional(Type.String({ minLength: 1, maxLength: RECORD_LIMITS.maxResourceId })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: RECORD_LIMITS.maxAction })),
    outcome: Type.Optional(Type.String({ pattern: RECORD_LIMITS.outcomePattern })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type ListLogsQuery = Static<typeof ListLogsQuery>;

export const RecordList = Type.Object(
  {
    items: Type.Array(Type.Ref('AuditRecord')),
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for the next page',
    }),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const SthQuery = Type.Object(
  { tree_size: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) },
  { additionalProperties: false },
);

export const ConsistencyQuery = Type.Object(
  {
    first: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    second: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

export const ConsistencyResponse = Type.Object(
  {
    first: Type.Integer(),
    second: Type.Integer(),
    consistency: Type.Array(Type.String({ description: 'base64' }), {
      description: 'RFC 9162 §2.1.4 consistency proof',
    }),
  },
  { additionalProperties: false },
);

export const PublicKeyResponse = Type.Object(
  {
    algorithm: Type.Literal('Ed25519'),
    key_id: Type.String({ description: 'hex SHA-256 of the SubjectPublicKeyInfo DER' }),
    public_key: Type.String({ description: 'base64 SubjectPublicKeyInfo DER' }),
    public_key_pem: Type.String(),
  },
  { additionalProperties: false },
);

export const VerifyBody = Type.Object(
  {
    record_id: Type.Optional(Type.String({ format: 'uuid' })),
    from_index: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    to_index: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'exclusive' }),
    ),
  },
  { additionalProperties: false },
);
export type VerifyBody = Static<typeof VerifyBody>;

export const VerifyFailure = Type.Object(
  {
    reason: Type.String({
      description:
        'record_missing, record_inserted, record_reordered, payload_altered, record_fields_altered, not_in_tree, root_mismatch, bad_signature, malformed_tree_head, inconsistent_tree_heads, log_truncated, key_mismatch, malformed_package',
    }),
    detail: Type.String(),
    leaf_index: Type.Optional(Type.Integer()),
    record_id: Type.Optional(Type.String()),
    tree_size: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export const VerifyReport = Type.Object(
  {
    ok: Type.Boolean(),
    tenant_id: Type.String(),
    tree_size: Type.Integer({ description: 'Size of the tree head checked against' }),
    checked: Type.Object({
      records: Type.Integer(),
      tree_heads: Type.Integer(),
      consistency_proofs: Type.Integer(),
      full_root_recomputed: Type.Boolean(),
    }),
    failure: Type.Optional(VerifyFailure),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description:
          'Records per package: a longer range is exported page by page, each page naming the next in manifest.next_cursor, every page proved against the same signed tree head',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'manifest.next_cursor of the previous page (the range and the pinned head travel in it)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SettingsBody = Type.Object(
  {
    redaction_kinds: Type.Optional(
      Type.Union(
        [Type.Array(Type.String({ maxLength: 40 }), { maxItems: 64, uniqueItems: true }), Type.Null()],
        {
          description: 'Kinds to redact (see the redaction README); null = every kind; [] = redaction off',
        },
      ),
    ),
    retention_days: Type.Optional(
      Type.Record(
        Type.String({ pattern: RECORD_LIMITS.productPattern }),
        Type.Integer({ minimum: 1, maximum: 36_500 }),
        {
          // A key that is not a product name must be refused, not stored unmatched.
          additionalProperties: false,
          maxProperties: 64,
          description: 'Days a product’s record payloads are kept, overriding the defaults',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SettingsBody = Static<typeof SettingsBody>;

export const Settings = Type.Object(
  {
    redaction_kinds: Type.Union([Type.Array(Type.String()), Type.Null()]),
    retention_days: Type.Record(Type.String(), Type.Integer(), {
      description: 'Effective retention per product (defaults merged with the tenant’s overrides)',
    }),
    default_retention_days: Type.Integer({ description: 'For products not listed' }),
  },
  { additionalProperties: false },
);

export const ComplianceQuery = Type.Object(
  {
    framework: Type.Union([
      Type.Literal('soc2'),
      Type.Literal('iso27001'),
      Type.Literal('gdpr'),
      Type.Literal('nis2'),
    ]),
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type ComplianceQuery = Static<typeof ComplianceQuery>;

const Counts = Type.Record(Type.String(), Type.Integer());

export const ComplianceReportResponse = Type.Object(
  {
    framework: Type.String(),
    framework_name: Type.String(),
    tenant_id: Type.String(),
    period: Type.Object({ from: Type.String(), to: Type.String() }),
    generated_at: Type.String({ format: 'date-time' }),
    tree_head: Type.Ref('AuditSignedTreeHead'),
    summary: Type.Object({
      records: Type.Integer(),
      expired_records: Type.Integer(),
      by_product: Counts,
      by_outcome: Counts,
      denials: Type.Integer(),
      evidence: Type.Object({
        access_changes: Type.Integer(),
        approvals: Type.Integer(),
        policy_changes: Type.Integer(),
        denials: Type.Integer(),
        incidents: Type.Integer(),
      }),
      approvals: Type.Object(
        {
          requested: Type.Integer({
            description: 'approval.requested records in the period (one per approval id)',
          }),
          approved: Type.Integer(),
          rejected: Type.Integer(),
          expired: Type.Integer(),
          cancelled: Type.Integer(),
          escalated: Type.Integer({ description: 'requests escalated at least once' }),
          open: Type.Integer({
            description: 'requests with no decision, expiry or cancellation at the tree head',
          }),
          sla: Type.Object({
            with_sla: Type.Integer({ description: 'requests whose metadata.sla_seconds is known' }),
            met: Type.Integer({ description: 'decided within the SLA' }),
            breached: Type.Integer({ description: 'decided late, expired, or still open past the SLA' }),
            met_ratio: Type.Union([Type.Number(), Type.Null()]),
          }),
          decision_seconds: Type.Object({
            p50: Type.Union([Type.Number(), Type.Null()]),
            p90: Type.Union([Type.Number(), Type.Null()]),
            max: Type.Union([Type.Number(), Type.Null()]),
          }),
        },
        {
          description:
            'The approvals requested in the period, followed to their decision among the leaves the tree head covers',
        },
      ),
    }),
    controls: Type.Array(
      Type.Object({
        id: Type.String(),
        title: Type.String(),
        status: Type.Union([Type.Literal('evidence_present'), Type.Literal('no_evidence_in_period')]),
        records: Type.Integer(),
        event_types: Counts,
      }),
    ),
    redaction: Type.Object({
      kinds: Type.Union([Type.Array(Type.String()), Type.Literal('all'), Type.Literal('off')]),
    }),
    retention_days: Counts,
  },
  {
    additionalProperties: false,
    description:
      'Counts of the period’s records under the framework’s controls, among the leaves the signed `tree_head` covers',
  },
);
