/**
 * Preparing a record for the log: redaction, RFC 8785 bytes, leaf hash. Pure CPU, no I/O, so it
 * runs on the buffer's thread or on a `worker_threads` pool (prepare-pool.ts) alike.
 */
import { leafHash } from './merkle.js';
import { type AuditAppend, buildStoredRecord, type StoredRecord } from './record.js';
import { createRedactor, type PiiKind, type Redactor } from './redaction/index.js';

export interface PreparedRecord {
  tenantId: string;
  record: StoredRecord;
  canonical: Buffer;
  hash: Buffer;
}

/**
 * @example
 *   const p = prepare(input, newId(), Date.now(), createRedactor());
 *   p.hash; // SHA-256(0x00 ‖ p.canonical)
 */
export function prepare(
  input: AuditAppend,
  recordId: string,
  timestampMs: number,
  redactor: Redactor | undefined,
): PreparedRecord {
  const { record, canonical } = buildStoredRecord(input, recordId, timestampMs, redactor);
  return { tenantId: record.tenant_id, record, canonical, hash: leafHash(canonical) };
}

/**
 * The redactor of a tenant configuration key: `*` = every kind, `''` = none, else the sorted kinds
 * joined by commas.
 *
 * @example
 *   redactorFromKey('CARD,EMAIL')?.kinds; // ['CARD', 'EMAIL']
 */
export function redactorFromKey(key: string): Redactor | undefined {
  const kinds = key === '*' ? undefined : key === '' ? [] : (key.split(',') as PiiKind[]);
  return kinds && kinds.length === 0 ? undefined : createRedactor(kinds ? { kinds } : {});
}
