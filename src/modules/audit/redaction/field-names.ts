/**
 * What a JSON key name says about its value. `password`, `api_key`, `Authorization`,
 * `x-api-key`… hold secrets whatever the value looks like, so the whole value goes; `dob`,
 * `passport_number`, `ssn`, `home_address` give the context that a bare `1990-05-12` or
 * `C01X00T47` lacks in the string itself.
 *
 * Names are compared case-insensitively with `_`, `-`, `.` and spaces removed, and by suffix, so
 * `db_password`, `clientSecret` and `X-Api-Key` match while `max_tokens`, `token_count`,
 * `author` and `public_key` do not.
 */

export const FieldClass = {
  None: 0,
  Secret: 1,
  BirthDate: 2,
  Passport: 3,
  Ssn: 4,
  Address: 5,
} as const;
export type FieldClass = (typeof FieldClass)[keyof typeof FieldClass];

const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'passwort',
  'passphrase',
  'pwd',
  'secret',
  'apikey',
  'token',
  'authorization',
  'auth',
  'privatekey',
  'secretkey',
  'accesskey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'credential',
  'credentials',
  'cookie',
  'sessionid',
];

const EXACT: ReadonlyMap<string, FieldClass> = new Map([
  ['dob', FieldClass.BirthDate],
  ['dateofbirth', FieldClass.BirthDate],
  ['birthdate', FieldClass.BirthDate],
  ['birthday', FieldClass.BirthDate],
  ['geburtsdatum', FieldClass.BirthDate],
  ['passport', FieldClass.Passport],
  ['passportno', FieldClass.Passport],
  ['passportnumber', FieldClass.Passport],
  ['passportid', FieldClass.Passport],
  ['ssn', FieldClass.Ssn],
  ['socialsecuritynumber', FieldClass.Ssn],
  ['address', FieldClass.Address],
  ['streetaddress', FieldClass.Address],
  ['homeaddress', FieldClass.Address],
  ['mailingaddress', FieldClass.Address],
  ['postaladdress', FieldClass.Address],
  ['shippingaddress', FieldClass.Address],
  ['billingaddress', FieldClass.Address],
  ['addressline1', FieldClass.Address],
  ['addressline2', FieldClass.Address],
  ['street', FieldClass.Address],
]);

/**
 * Classifies a key name (uncached; see `FieldClassCache`).
 *
 * @example
 *   classifyFieldName('X-Api-Key'); // FieldClass.Secret
 *   classifyFieldName('max_tokens'); // FieldClass.None
 */
export function classifyFieldName(name: string): FieldClass {
  if (name.length > 64) return FieldClass.None;
  const normalized = name.toLowerCase().replace(/[-_. ]/g, '');
  const exact = EXACT.get(normalized);
  if (exact !== undefined) return exact;
  for (const suffix of SECRET_SUFFIXES) if (normalized.endsWith(suffix)) return FieldClass.Secret;
  return FieldClass.None;
}

/**
 * A bounded memo of `classifyFieldName`: audit records repeat the same few hundred keys, so the
 * hot path is one `Map` lookup per key instead of a lower-case copy and twenty suffix tests.
 *
 * @example
 *   const cache = new FieldClassCache();
 *   cache.get('db_password'); // FieldClass.Secret
 */
export class FieldClassCache {
  readonly #map = new Map<string, FieldClass>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  get(name: string): FieldClass {
    let c = this.#map.get(name);
    if (c === undefined) {
      c = classifyFieldName(name);
      if (this.#map.size >= this.#max) this.#map.clear();
      this.#map.set(name, c);
    }
    return c;
  }
}
