/**
 * Audit records: the input other modules give `append`, its checks, and the stored form.
 *
 * The stored (hashed) record is the redacted record; its canonical bytes (RFC 8785) are the leaf
 * data. `tenant_id` and `record_id` are inside the hashed bytes, so a record cannot be moved to
 * another tenant's log or another id without breaking its leaf hash.
 */
import { CanonicalJsonError, canonicalBytes, canonicalJson, canonicalSizeBound } from './canonical.js';
import { AuditProblems } from './errors.js';
import type { Redactor } from './redaction/index.js';
import { RECORD_LIMITS } from './types.js';

/** The log of records with no tenant (deployment-wide operator actions). */
export const DEPLOYMENT_LOG_ID = '00000000-0000-0000-0000-000000000000';

/**
 * What a caller appends; the same fields as the `audit.record` event payload, plus the tenant.
 *
 * @example
 *   audit.append({ tenant_id: t, product: 'runtime', event_type: 'sandbox.created', actor: 'agent:a1',
 *     resource_id: sandboxId, action: 'create', outcome: 'success', metadata: { image } });
 */
export interface AuditAppend {
  /** The tenant whose log receives the record; null = the deployment log. */
  tenant_id: string | null;
  product: string;
  event_type: string;
  actor: string;
  resource_id?: string | null;
  action: string;
  outcome: string;
  metadata?: Record<string, unknown>;
  /** Set by POST /v1/audit/log when the caller names an actor other than itself. */
  submitted_by?: string;
}

/** The record as hashed and stored (after redaction). */
export interface StoredRecord {
  record_id: string;
  tenant_id: string;
  product: string;
  event_type: string;
  actor: string;
  resource_id: string | null;
  action: string;
  outcome: string;
  timestamp: string;
  metadata: Record<string, unknown>;
  submitted_by?: string;
}

const PRODUCT_RE = new RegExp(RECORD_LIMITS.productPattern);
const EVENT_RE = new RegExp(RECORD_LIMITS.eventTypePattern);
const OUTCOME_RE = new RegExp(RECORD_LIMITS.outcomePattern);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function bad(field: string, detail: string): never {
  throw AuditProblems.invalidRecord.create(`${field} ${detail}`, { field });
}

function text(field: string, value: unknown, max: number, re?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0) bad(field, 'must be a non-empty string');
  if (value.length > max) bad(field, `must be at most ${max} characters, got ${value.length}`);
  if (re && !re.test(value)) bad(field, `must match ${re.source}`);
  return value;
}

/**
 * Checks a record before it is buffered, so a bad record is the caller's error now rather than a
 * lost record at flush time. Throws `audit-invalid-record` naming the field.
 */
export function checkAppend(input: AuditAppend): void {
  if (input === null || typeof input !== 'object') bad('record', 'must be an object');
  if (input.tenant_id !== null && (typeof input.tenant_id !== 'string' || !UUID_RE.test(input.tenant_id)))
    bad('tenant_id', 'must be a lower-case tenant id (UUID) or null');
  text('product', input.product, 64, PRODUCT_RE);
  text('event_type', input.event_type, 128, EVENT_RE);
  text('actor', input.actor, RECORD_LIMITS.maxActor);
  if (input.resource_id !== undefined && input.resource_id !== null)
    text('resource_id', input.resource_id, RECORD_LIMITS.maxResourceId);
  text('action', input.action, RECORD_LIMITS.maxAction);
  text('outcome', input.outcome, 64, OUTCOME_RE);
  if (input.submitted_by !== undefined) text('submitted_by', input.submitted_by, RECORD_LIMITS.maxActor);
  const metadata = input.metadata;
  if (metadata === undefined) return;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    bad('metadata', 'must be a JSON object');
  const max = RECORD_LIMITS.maxMetadataBytes;
  try {
    // A checking walk with an upper bound of the size; only metadata that may be near the limit is
    // serialized to measure it exactly (every record is checked on the caller's hot path).
    if (canonicalSizeBound(metadata) > max) {
      const json = canonicalJson(metadata);
      if (json.length > max || Buffer.byteLength(json) > max)
        bad('metadata', `must be at most ${max} bytes as canonical JSON`);
    }
  } catch (err) {
    if (err instanceof CanonicalJsonError) bad(`metadata${err.path.slice(1)}`, err.problem);
    throw err;
  }
}

/**
 * The stored record and its canonical bytes: personal data in actor, resource id and metadata is
 * replaced by `[REDACTED:KIND]` first, so the original never reaches the database.
 */
export function buildStoredRecord(
  input: AuditAppend,
  recordId: string,
  timestampMs: number,
  redactor: Redactor | undefined,
): { record: StoredRecord; canonical: Buffer } {
  let actor = input.actor;
  let resourceId = input.resource_id ?? null;
  let metadata = input.metadata ?? {};
  if (redactor) {
    actor = redactor.redactString(actor).text;
    if (resourceId !== null) resourceId = redactor.redactString(resourceId).text;
    metadata = redactor.redactValue(metadata).value as Record<string, unknown>;
  }
  const record: StoredRecord = {
    record_id: recordId,
    tenant_id: input.tenant_id ?? DEPLOYMENT_LOG_ID,
    product: input.product,
    event_type: input.event_type,
    actor,
    resource_id: resourceId,
    action: input.action,
    outcome: input.outcome,
    timestamp: new Date(timestampMs).toISOString(),
    metadata,
    ...(input.submitted_by !== undefined ? { submitted_by: input.submitted_by } : {}),
  };
  return { record, canonical: canonicalBytes(record) };
}
