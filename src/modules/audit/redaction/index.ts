/**
 * PII and secret redaction for audit records, applied before a record is stored.
 *
 * @example
 *   import { createRedactor } from './redaction/index.js';
 *   const redactor = createRedactor();
 *   redactor.redactValue({ note: 'card 4000 0012 3456 7899', token: 'abc' }).value;
 *   // { note: 'card [REDACTED:CARD]', token: '[REDACTED:SECRET_FIELD]' }
 */
export { classifyFieldName, FieldClass } from './field-names.js';
export { isKindName, PII_KINDS, type PiiKind, replacementFor } from './kinds.js';
export {
  createRedactor,
  DEFAULT_VALUE_LIMITS,
  type ExtraPattern,
  type RedactionHit,
  type Redactor,
  type RedactorOptions,
  type StringRedaction,
  TRUNCATED,
  type ValueLimits,
  type ValueRedaction,
} from './redact.js';
