/**
 * The kinds of personal data and secrets the audit redactor knows. A kind names the replacement
 * (`[REDACTED:EMAIL]`) and the hit counters, so these strings are part of the stored format: add
 * kinds, never rename them.
 */
export const PII_KINDS = [
  'EMAIL',
  'PHONE',
  'CARD',
  'IBAN',
  'US_SSN',
  'IPV4',
  'IPV6',
  'JWT',
  'AWS_ACCESS_KEY',
  'AWS_SECRET_KEY',
  'API_KEY',
  'BEARER_TOKEN',
  'BASIC_AUTH',
  'PRIVATE_KEY',
  'PASSWORD',
  'PASSPORT',
  'DATE_OF_BIRTH',
  'POSTAL_ADDRESS',
  'URL_SECRET',
  'SECRET_FIELD',
] as const;

export type PiiKind = (typeof PII_KINDS)[number];

/**
 * The text that replaces a finding of `kind`.
 *
 * @example
 *   replacementFor('EMAIL'); // '[REDACTED:EMAIL]'
 */
export function replacementFor(kind: string): string {
  return `[REDACTED:${kind}]`;
}

const KIND_NAME = /^[A-Z][A-Z0-9_]{0,39}$/;

/**
 * Whether `name` can be used as a kind (upper snake case, at most 40 characters).
 *
 * @example
 *   isKindName('EMPLOYEE_ID'); // true
 */
export function isKindName(name: string): boolean {
  return KIND_NAME.test(name);
}
