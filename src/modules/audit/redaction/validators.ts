/**
 * Checks that turn a regex candidate into a finding: checksums (Luhn, IBAN mod 97), allocation rules
 * (SSN areas, card IIN ranges), parsers (IPv4/IPv6, calendar dates, JWT headers) and token
 * randomness (Shannon entropy, character classes). Each is pure and runs only on candidates, never
 * on the whole record, so clarity wins over micro-optimisation here.
 */

const DIGIT_0 = 48;

/**
 * Luhn (mod 10) check over the digits of `value`; any other character is ignored, so a card written
 * with spaces or dashes can be passed as is.
 *
 * @example
 *   luhnValid('4000 0012 3456 7899'); // true
 *   luhnValid('4000 0012 3456 7890'); // false
 */
export function luhnValid(value: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const d = value.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) continue;
    digits++;
    let v = double ? d * 2 : d;
    if (v > 9) v -= 9;
    sum += v;
    double = !double;
  }
  return digits > 1 && sum % 10 === 0;
}

/**
 * Whether a digits-only card number has an issuer prefix (IIN) and a length that some card scheme
 * actually issues. Catches Luhn-valid numbers that are really order ids or timestamps.
 *
 * @example
 *   cardIinPlausible('4000001234567899'); // true  (Visa, 16)
 *   cardIinPlausible('9000001234567899'); // false (no scheme issues 9…)
 */
export function cardIinPlausible(digits: string): boolean {
  const len = digits.length;
  if (len < 13 || len > 19) return false;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  switch (digits.charCodeAt(0) - DIGIT_0) {
    case 1: // UATP
      return len === 15;
    case 2: // Mastercard 2-series, Mir
      return len === 16 && ((p4 >= 2221 && p4 <= 2720) || (p4 >= 2200 && p4 <= 2204));
    case 3:
      if (p2 === 34 || p2 === 37) return len === 15; // Amex
      if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return len >= 14 && len <= 19; // Diners
      if (p4 >= 3528 && p4 <= 3589) return len >= 16 && len <= 19; // JCB
      return false;
    case 4: // Visa
      return len === 13 || len === 16 || len === 19;
    case 5:
      if (p2 >= 51 && p2 <= 55) return len === 16; // Mastercard
      return (p2 === 50 || (p2 >= 56 && p2 <= 58)) && len >= 12; // Maestro
    case 6: // Discover, UnionPay, Maestro, RuPay
      return true;
    default:
      return false;
  }
}

/**
 * IBAN length per ISO 3166 country code (SWIFT IBAN registry). A country missing here is not an
 * IBAN country, which rejects look-alikes such as `XX12 …`.
 */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/**
 * Whether a compact (space-free, upper-case) IBAN has its country's length and passes ISO 7064
 * mod 97-10.
 *
 * @example
 *   ibanValid('DE75512108001245126199'); // true
 *   ibanValid('DE75512108001245126198'); // false
 */
export function ibanValid(compact: string): boolean {
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  if (expected === undefined || compact.length !== expected) return false;
  return ibanMod97(compact) === 1;
}

/**
 * ISO 7064 mod 97 of an IBAN (first four characters moved to the end, letters as 10–35); 1 for a
 * valid IBAN, so `98 - ibanMod97(cc + '00' + bban)` gives the check digits.
 *
 * @example
 *   ibanMod97('DE75512108001245126199'); // 1
 */
export function ibanMod97(compact: string): number {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return -1;
  }
  return rem;
}

/**
 * US Social Security Number allocation rules: area not 000, 666 or 900–999; group not 00; serial
 * not 0000; and not one of the two numbers famously printed in advertising.
 *
 * @example
 *   ssnValid('123', '45', '6789'); // true
 *   ssnValid('000', '12', '3456'); // false
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area.charCodeAt(0) === 57) return false;
  if (group === '00' || serial === '0000') return false;
  const joined = area + group + serial;
  return joined !== '078051120' && joined !== '219099999';
}

/**
 * Dotted-quad check: four decimal octets, each ≤ 255, no leading zeros (which some parsers read
 * as octal, and which real log output never prints).
 *
 * @example
 *   ipv4Valid('192.168.10.1'); // true
 *   ipv4Valid('192.168.010.1'); // false
 */
export function ipv4Valid(value: string): boolean {
  const parts = value.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return false;
    if (p.length > 1 && p.charCodeAt(0) === DIGIT_0) return false;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    if (Number(p) > 255) return false;
  }
  return true;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * RFC 4291 text form: eight 16-bit hex groups, at most one `::` standing for one or more zero
 * groups, an optional trailing dotted quad counting as two groups, and an optional `%zone`.
 * Also requires at least one decimal digit, so words like `add::bead` or `Abc::Def` in code or prose
 * are not taken for addresses.
 *
 * @example
 *   ipv6Valid('2001:db8::8a2e:370:7334'); // true
 *   ipv6Valid('12:34:56'); // false
 */
export function ipv6Valid(value: string): boolean {
  const zone = value.indexOf('%');
  let text = zone >= 0 ? value.slice(0, zone) : value;
  if (!/\d/.test(text)) return false;
  let embedded = 0;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return false;
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!ipv4Valid(tail)) return false;
    embedded = 2;
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const left = countHexGroups(halves[0] ?? '');
  if (left < 0) return false;
  if (halves.length === 1) return left + embedded === 8;
  const right = countHexGroups(halves[1] ?? '');
  return right >= 0 && left + right + embedded <= 7;
}

function countHexGroups(side: string): number {
  if (side === '') return 0;
  const parts = side.split(':');
  for (const p of parts) if (!HEX_GROUP.test(p)) return -1;
  return parts.length;
}

/**
 * Whether a base64url JWT header segment decodes to a JSON object with a string `alg`, which is
 * what separates a real token from three dot-joined base64 words.
 *
 * @example
 *   jwtHeaderValid(Buffer.from('{"alg":"HS256"}').toString('base64url')); // true
 */
export function jwtHeaderValid(segment: string): boolean {
  if (segment.length < 8 || segment.length > 4096) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/**
 * Shannon entropy in bits per character. Random base62 tokens of 20–40 characters measure about
 * 4.0–5.0; English words joined by underscores about 3.0–3.8; hex digests about 3.6–3.9.
 *
 * @example
 *   shannonEntropy('aaaa'); // 0
 *   shannonEntropy('abcd'); // 2
 */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * Which of lower, upper, digit, other occur in `value`, as a bit set (1, 2, 4, 8).
 *
 * @example
 *   charClasses('aB3'); // 7
 */
export function charClasses(value: string): number {
  let mask = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 122) mask |= 1;
    else if (c >= 65 && c <= 90) mask |= 2;
    else if (c >= 48 && c <= 57) mask |= 4;
    else mask |= 8;
  }
  return mask;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Includes our own replacements ("[REDACTED:PASSWORD", possibly cut before its "]"), so redacting
// redacted text changes nothing.
const PLACEHOLDER =
  /^(?:\[redacted[^\]]*\]?|\*+|x{3,}|X{3,}|\.{3,}|-+|null|nil|none|undefined|true|false|yes|no|required|optional|redacted|hidden|masked|changeme|example|placeholder|\[[^\]]*\]|<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\{\{[^}]*\}\}|%s|%\([a-z_]+\)s)$/i;

/**
 * Whether a value after `token=`/`secret:`/`api_key=` looks like a randomly generated credential
 * rather than a word, a count, a UUID, a path or a template placeholder. Used for the generic
 * (prefix-less) API_KEY rule, where the context word alone is weak evidence.
 *
 * @example
 *   looksLikeSecret('q8Zt3kLw9VbN2xYp7RmC'); // true
 *   looksLikeSecret('not_a_real_secret_value'); // false
 */
export function looksLikeSecret(value: string): boolean {
  const n = value.length;
  if (n < 16 || n > 4096) return false;
  if (UUID.test(value) || PLACEHOLDER.test(value)) return false;
  const first = value.charCodeAt(0);
  if (first === 47 /* / */ || first === 46 /* . */ || value.includes('://')) return false;
  const classes = charClasses(value);
  const hasLetter = (classes & 3) !== 0;
  const hasDigit = (classes & 4) !== 0;
  if (!hasLetter) return false;
  if (!hasDigit && !((classes & 3) === 3 && n >= 20)) return false;
  // Words and digits mixed by a human ("release_2024_notes_final") stay under ~3.5 bits/char.
  return shannonEntropy(value) >= (n >= 32 ? 3.3 : 3.5);
}

/**
 * Whether a value is a template or mask rather than a real credential (`***`, `${PW}`, `<token>`,
 * `null`, our own `[REDACTED:…]`).
 *
 * @example
 *   isPlaceholder('********'); // true
 */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/**
 * Whether `value` is a canonical textual UUID (any version).
 *
 * @example
 *   isUuid('0195a3c2-7d4e-7f10-9b2a-5c6d7e8f9a0b'); // true
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/**
 * Month number for an English month name, its three-letter abbreviation or `Sept`, else 0.
 *
 * @example
 *   monthFromName('June'); // 6
 */
export function monthFromName(name: string): number {
  const lower = name.toLowerCase();
  if (lower === 'sept') return 9;
  return MONTH_NAMES.findIndex((m) => m === lower || m.slice(0, 3) === lower) + 1;
}

/**
 * Whether (year, month, day) is a real calendar date in a plausible birth range (1900–2099);
 * two-digit years are read as 19xx/20xx.
 *
 * @example
 *   calendarDateValid(1988, 2, 29); // true
 *   calendarDateValid(1989, 2, 29); // false
 */
export function calendarDateValid(year: number, month: number, day: number): boolean {
  const y = year < 100 ? year + 1900 : year;
  if (y < 1900 || y > 2099 || month < 1 || month > 12 || day < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

const NUMERIC_DATE = /^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const DAY_MONTH_YEAR = /^(\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?([A-Za-z]{3,9})\.?,?\s+(\d{4})$/;
const MONTH_DAY_YEAR = /^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/;
const DAY_MON_YEAR = /^(\d{1,2})-([A-Za-z]{3})-(\d{2,4})$/;

/**
 * Whether a date as written (`1990-05-12`, `12/05/1990`, `05.12.90`, `12 May 1990`,
 * `May 12th, 1990`, `12-May-1990`, `19900512`) is a real date. Day/month order is ambiguous in
 * numeric forms, so either reading being valid is enough.
 *
 * @example
 *   writtenDateValid('31/04/1990'); // false (April has 30 days, and there is no month 31)
 *   writtenDateValid('3rd of March 1985'); // true
 */
export function writtenDateValid(text: string): boolean {
  let m = NUMERIC_DATE.exec(text);
  if (m) {
    const [a, b, c] = [m[1] ?? '', Number(m[2]), m[3] ?? ''];
    if (a.length === 4) return c.length <= 2 && calendarDateValid(Number(a), b, Number(c));
    if (a.length > 2 || (c.length !== 4 && c.length !== 2)) return false;
    const year = Number(c);
    return calendarDateValid(year, b, Number(a)) || calendarDateValid(year, Number(a), b);
  }
  m = COMPACT_DATE.exec(text);
  if (m) return calendarDateValid(Number(m[1]), Number(m[2]), Number(m[3]));
  m = DAY_MONTH_YEAR.exec(text);
  if (m) return calendarDateValid(Number(m[3]), monthFromName(m[2] ?? ''), Number(m[1]));
  m = MONTH_DAY_YEAR.exec(text);
  if (m) return calendarDateValid(Number(m[3]), monthFromName(m[1] ?? ''), Number(m[2]));
  m = DAY_MON_YEAR.exec(text);
  if (m) return calendarDateValid(Number(m[3]), monthFromName(m[2] ?? ''), Number(m[1]));
  return false;
}
