/**
 * The built-in detectors: for each kind, a global regex that finds candidates and an `accept` step
 * that validates a candidate (checksum, allocation rule, context) and says which span to replace.
 *
 * Why it is written this way (this runs on the audit append hot path):
 * - Most records contain no PII. So detectors sit behind *gates*: checks that are much cheaper
 *   than the detectors and are necessary conditions for them (a literal such as `@` or
 *   `-----BEGIN`, or one shared scan over context words, digit runs or upper-case shapes). A record
 *   that opens no gate costs about ten native scans. Where a gate knows every place a match could
 *   be (around each `@`, each long digit run), its detectors scan only those regions.
 * - No regex here can backtrack catastrophically: every quantifier is bounded or runs over a class
 *   disjoint from what follows it, candidates can only start at a token boundary (a negative
 *   lookbehind), and "possessive" runs use the `(?=(x+))\1` idiom so the engine never gives
 *   characters back. The whole-string cost is linear, which the 100 KB adversarial tests check.
 * - Context windows (passport numbers, dates of birth, addresses after `address:`) are scanned by
 *   `accept` in plain code after a keyword match rather than by one big regex, which keeps the
 *   regexes small and the window bounded.
 */
import type { PiiKind } from './kinds.js';
import {
  cardIinPlausible,
  charClasses,
  IBAN_LENGTHS,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  isPlaceholder,
  isUuid,
  jwtHeaderValid,
  looksLikeSecret,
  luhnValid,
  shannonEntropy,
  ssnValid,
  writtenDateValid,
} from './validators.js';

/** A half-open range `[start, end)` of the input to replace. */
export interface Span {
  start: number;
  end: number;
}

/**
 * A detector: `pattern` (global) finds candidates, `accept` turns one into the span to replace or
 * rejects it (default: the whole match). `gate`/`channel` name the gate that must be open.
 */
export interface Detector {
  readonly kind: PiiKind | string;
  /** When findings of different kinds overlap and are equally long, the lower priority names the result. */
  readonly priority: number;
  readonly pattern: RegExp;
  readonly accept?: (m: RegExpExecArray, text: string) => Span | undefined;
  readonly gate?: GateId;
  readonly channel?: number;
  /**
   * Scan only the regions the gate reported (each a slice around what opened it) instead of the
   * whole text. For detectors whose regex cannot skip ahead cheaply (it starts with a digit or a
   * letter class) and whose gate pinpoints every place a match could be.
   */
  readonly regional?: boolean;
  /**
   * After a rejected candidate, look for the next one from the candidate's second character rather
   * than after its end: for greedy candidates that can swallow the start of a real finding. Only
   * where a start anchor makes that retry cheap (else the scan turns quadratic).
   */
  readonly retryInside?: boolean;
}

/**
 * A gate: returns the open channels (0 = closed). A gate that can enumerate every place a match
 * could be pushes `[start, end)` pairs into `regions`, in order; leaving it empty means "anywhere".
 */
export type Gate = (text: string, regions: number[]) => number;

function pushRegion(regions: number[], start: number, end: number, length: number): void {
  const a = Math.max(0, start);
  const b = Math.min(length, end);
  const n = regions.length;
  if (n > 0 && a <= (regions[n - 1] as number)) regions[n - 1] = Math.max(regions[n - 1] as number, b);
  else regions.push(a, b);
}

/**
 * Cheap necessary conditions, each evaluated at most once per string; see `GATES`. A detector
 * without a gate is literal-first (it starts with a rare word or prefix), so it is its own gate.
 */
export type GateId = 'at' | 'pem' | 'jwt' | 'query' | 'digits' | 'upper' | 'words' | 'ipv6';

// Channels of the 'digits' gate.
export const D_PHONE = 1;
export const D_CARD = 2;
export const D_SSN = 4;
export const D_IPV4 = 8;
// Channels of the 'words' gate.
export const W_AUTH = 1;
export const W_PASSPORT = 2;
export const W_BIRTH = 4;
export const W_ADDRESS = 8;
export const W_SSN = 16;
export const W_SECRET = 32;
export const W_EU_STREET = 64;
// Channels of the 'upper' gate.
export const U_IBAN = 1;
export const U_STREET = 2;
export const U_AWS = 4;

/*
 * How the gates were chosen (measured on 1 KiB log/JSON records, see bench/results/pii.md):
 * V8's regex engine finds a pure literal (`@`, `-----BEGIN`) at memory speed, but an alternation
 * of many words costs ~0.1 µs/KiB per alternative, and a JavaScript loop over the characters costs
 * 2–3 µs/KiB on its own. So the gates are a few unions whose alternatives share the kind of first
 * character (a digit, an upper-case letter, a colon), plus single literals; keyword-first
 * detectors run without a gate.
 */

// A dotted quad, or a run of at least 11 characters of digits and the separators phone numbers,
// cards and SSNs use (starting after a space or a non-digit, so a run is rescanned at most from its
// inner spaces). ISO dates (10 characters) and counts never qualify.
const DIGITS = /\d\.\d{1,3}\.\d{1,3}\.\d|(?<![\d./-])\d[\d ()+./-]{9,}\d/g;
const ALL_DIGITS = D_PHONE | D_CARD | D_SSN | D_IPV4;

function digitsGate(text: string, regions: number[]): number {
  const re = DIGITS;
  re.lastIndex = 0;
  let mask = 0;
  // Bounded: a record stuffed with digit runs opens every channel over the whole text instead.
  for (let n = 0; n < 32; n++) {
    const m = re.exec(text);
    if (m === null) return mask;
    const s = m[0];
    let digits = 0;
    let dots = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
      else if (c === 46) dots++;
    }
    if (dots >= 3) mask |= D_IPV4;
    if (s.length >= 11) {
      if (digits >= 8) mask |= D_PHONE;
      if (digits >= 9) mask |= D_SSN;
      if (digits >= 13) mask |= D_CARD;
    }
    // Margins let the detectors' one-character lookarounds, a leading '+' or '(', the rest of a
    // dotted quad's octets and the "DE75 " check in front of a card see the real neighbours.
    pushRegion(regions, m.index - 6, re.lastIndex + 4, text.length);
  }
  regions.length = 0;
  return ALL_DIGITS;
}

const STREET_TYPES =
  'Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Close|Crescent|Cres|Gardens|Grove|Mews|Row|Walk|Hill|Trail|Alley|Plaza|Embankment';
// The same list as a first-letter trie, for the gate (cheaper to scan; see WORDS).
const STREET_TYPES_TRIE =
  'S(?:t(?:reet)?|q(?:uare)?)|A(?:ve(?:nue)?|v|lley)|R(?:oa)?d|Row|B(?:oulevard|lvd)|L(?:ane|n)|D(?:rive|r)|C(?:ourt|t|ircle|ir|lose|rescent|res)|W(?:ay|alk)|P(?:lace|l|arkway|kwy|laza)|T(?:errace|er|rail)|H(?:ighway|wy|ill)|G(?:ardens|rove)|Mews|Embankment';
const AWS_PREFIXES = 'KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA';
// Upper-case-first shapes: an IBAN's country and check digits, an English street type, an AWS key id.
const UPPER = new RegExp(
  `(?<![A-Za-z0-9])[A-Z]{2}\\d\\d|\\b(?:${STREET_TYPES_TRIE})\\b|A(?:${AWS_PREFIXES})[A-Z2-7]`,
  'g',
);
const ALL_UPPER = U_IBAN | U_STREET | U_AWS;

/** Regions: around each IBAN or AWS key candidate (street words open their channel for the whole text). */
function upperGate(text: string, regions: number[]): number {
  const re = UPPER;
  re.lastIndex = 0;
  let mask = 0;
  for (let n = 0; n < 32; n++) {
    const m = re.exec(text);
    if (m === null) return mask;
    const c = m[0].charCodeAt(2);
    if (c >= 48 && c <= 57) {
      mask |= U_IBAN;
      pushRegion(regions, m.index - 1, m.index + 46, text.length); // an IBAN is ≤ 34 chars + 8 spaces
    } else if (m[0].length === 5 && m[0].charCodeAt(0) === 65) {
      mask |= U_AWS;
      pushRegion(regions, m.index - 1, m.index + 21, text.length);
    } else mask |= U_STREET;
  }
  regions.length = 0;
  return ALL_UPPER;
}

const DE_STREET =
  '[Ss]tra(?:ss|ß)e|[Ss]tr\\.|[Ww]eg|[Aa]llee|[Pp]latz|[Gg]asse|[Rr]ing|[Dd]amm|[Uu]fer|[Cc]haussee';
const FR_STREET =
  '[Rr]ue|[Aa]venue|[Aa]v\\.|[Bb]oulevard|[Bb]d|[Pp]lace|[Aa]ll[ée]e|[Cc]hemin|[Ii]mpasse|[Qq]uai|[Cc]ours|[Rr]oute';

// Context words. Written as a trie on the first letter because the engine tries a flat
// alternation's branches one by one at every position (this form is ~30% cheaper than the flat one,
// and one scan for all words about half the cost of one scan per channel); the channel is read
// off the matched word afterwards. Credential names: "tokens" (LLM usage counters) is left out, and
// a "...key" counts only when assigned (api_key=, access_key:, private_key =). German and French
// street words: `weg` only before a house number, since the bare trigram is common.
const ASSIGN = '["\']?[ \\t]*(?:=>|[:=])';
const WORDS = new RegExp(
  `a(?:d(?:dr|ress)|nschrift|llee|venue)|b(?:earer|asic|irth|orn|oulevard)|c(?:redential|hemin)|d(?:ob|\\.o\\.b|irecci)|g(?:eb(?:urt|oren|\\.)|asse)|impasse|key${ASSIGN}|na(?:issance|cimiento)|p(?:as(?:s(?:e?port|w|phrase${ASSIGN}|${ASSIGN})|aporte)|wd|latz)|quai|r(?:eisepass|ue\\b)|s(?:sn|ocial[ _-]?security|ecret|tr(?:a(?:ss|ß)e|\\.))|token(?!s\\b)|weg \\d`,
  'gi',
);
const WORD_CHANNEL: readonly [RegExp, number][] = [
  [/^(?:bearer|basic)$/i, W_AUTH],
  [/^(?:pas(?:s(?:e?port)|aporte)|reisepass)$/i, W_PASSPORT],
  [/^(?:birth|born|dob|d\.o\.b|geb|naissance|nacimiento)/i, W_BIRTH],
  [/^(?:addr|adress|anschrift|direcci)/i, W_ADDRESS],
  [/^(?:ssn|social)/i, W_SSN],
  [/^(?:token|secret|credential|key|pass|pwd)/i, W_SECRET],
];
const ALL_WORDS = W_AUTH | W_PASSPORT | W_BIRTH | W_ADDRESS | W_SSN | W_SECRET | W_EU_STREET;

function wordChannel(word: string): number {
  for (const [re, channel] of WORD_CHANNEL) if (re.test(word)) return channel;
  return W_EU_STREET;
}

function wordsGate(text: string, _regions: number[]): number {
  const re = WORDS;
  re.lastIndex = 0;
  let mask = 0;
  // A record stuffed with context words opens every channel after 64 of them.
  for (let n = 0; n < 64; n++) {
    const m = re.exec(text);
    if (m === null) return mask;
    mask |= wordChannel(m[0]);
    if (mask === ALL_WORDS) return mask;
  }
  return ALL_WORDS;
}

const URL_END = /[\s"'<>]/g;

/** Regions: each query string, from its '?' to the end of the URL. */
function queryGate(text: string, regions: number[]): number {
  let q = text.indexOf('?');
  if (q < 0) return 0;
  for (let n = 0; q >= 0; n++) {
    if (n === 32) {
      regions.length = 0;
      return 1;
    }
    URL_END.lastIndex = q;
    const end = URL_END.exec(text)?.index ?? text.length;
    pushRegion(regions, q, end, text.length);
    q = text.indexOf('?', end);
  }
  return 1;
}

const IPV6_GATE = /:(?::|[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:)/gi;

function ipv6Gate(text: string, regions: number[]): number {
  const re = IPV6_GATE;
  re.lastIndex = 0;
  let open = 0;
  for (let n = 0; n < 32; n++) {
    const m = re.exec(text);
    if (m === null) return open;
    open = 1;
    // An address is at most 45 characters (plus a zone), so this covers it from either end.
    pushRegion(regions, m.index - 46, m.index + 64, text.length);
    re.lastIndex = m.index + 1;
  }
  regions.length = 0;
  return 1;
}

/** Gate implementations; each returns a channel bit set (0 = closed). */
export const GATES: Readonly<Record<GateId, Gate>> = {
  at: (t) => (/@/.test(t) ? 1 : 0),
  pem: (t) => (/-----BEGIN/.test(t) ? 1 : 0),
  jwt: (t) => (/eyJ/.test(t) ? 1 : 0),
  query: queryGate,
  digits: digitsGate,
  upper: upperGate,
  words: wordsGate,
  ipv6: ipv6Gate,
};

// ---------------------------------------------------------------------------------------------
// Helpers for accept functions.

function suffixSpan(m: RegExpExecArray, value: string, trailing = 0): Span {
  const end = m.index + m[0].length - trailing;
  return { start: end - value.length, end };
}

/**
 * The word (letters only, lower-cased) ending before `index`, with only punctuation and spaces
 * between, and where it starts. Empty when a digit or a line break comes first: "version 1.2 from
 * 10.0.0.1" must not reach back past "1.2" to "version".
 */
function wordBefore(text: string, index: number, maxBack = 32): { word: string; start: number } {
  const stop = Math.max(0, index - maxBack);
  let i = index - 1;
  while (i >= stop && !isLetter(text.charCodeAt(i))) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c >= 48 && c <= 57)) return { word: '', start: i + 1 };
    i--;
  }
  const end = i + 1;
  while (i >= stop && isLetter(text.charCodeAt(i))) i--;
  return { word: text.slice(i + 1, end).toLowerCase(), start: i + 1 };
}

/**
 * Whether `index` falls inside one of our replacements: "[REDACTED:DATE_OF_BIRTH]" contains
 * "BIRTH", which must not act as a context word when redacted text is redacted again.
 */
function insidePlaceholder(text: string, index: number): boolean {
  // Bounded look-back (a placeholder is under 40 characters): an unbounded lastIndexOf made
  // keyword-stuffed input quadratic.
  const from = Math.max(0, index - 40);
  const near = text.slice(from, index + 1);
  const open = near.lastIndexOf('[REDACTED:');
  return open >= 0 && near.indexOf(']', open) < 0;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/**
 * The text after a context word that its value may occupy: at most `max` characters, not past the
 * end of the line, and not past one of our replacements (the value it describes is already gone;
 * going on would redact the next number on a second pass). Sliced so that scanning it is bounded
 * whatever follows (many context words in one record must not make the scan quadratic).
 */
function windowAfter(text: string, from: number, max: number): string {
  const slice = text.slice(from, from + max);
  let end = slice.indexOf('\n');
  if (end < 0) end = slice.length;
  const placeholder = slice.indexOf('[REDACTED:');
  return slice.slice(0, placeholder >= 0 && placeholder < end ? placeholder : end);
}

/** First match of `re` (global) in `window` accepted by `ok`, as a span of the text the window starts at `offset` of. */
function firstInWindow(
  re: RegExp,
  window: string,
  offset: number,
  ok: (s: string) => boolean,
): Span | undefined {
  re.lastIndex = 0;
  for (let c = re.exec(window); c !== null; c = re.exec(window)) {
    if (ok(c[0])) return { start: offset + c.index, end: offset + c.index + c[0].length };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// EMAIL

const FILE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'ico',
  'bmp',
  'css',
  'js',
  'mjs',
  'cjs',
  'ts',
  'tsx',
  'jsx',
  'json',
  'map',
  'yaml',
  'yml',
  'lock',
  'txt',
  'html',
  'htm',
  'xml',
  'pdf',
  'log',
  'wasm',
]);

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;

const EMAIL: Detector = {
  kind: 'EMAIL',
  priority: 13,
  gate: 'at',
  // '@'-first so the engine jumps from '@' to '@'; the local part (at most 64 characters, starting
  // with a letter or digit, not preceded by another local-part character) is found in accept.
  pattern:
    /@(?<=[A-Za-z0-9._%+-]@)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])/g,
  accept(m, text) {
    let start = m.index;
    while (start > m.index - 65 && start > 0 && LOCAL_CHAR.test(text[start - 1] ?? '')) start--;
    if (start > 0 && LOCAL_CHAR.test(text[start - 1] ?? '')) return undefined; // longer than 64
    const local = text.slice(start, m.index);
    if (!/^[A-Za-z0-9]/.test(local) || local.endsWith('.') || local.includes('..')) return undefined;
    const domain = m[0].slice(1);
    const labels = domain.split('.');
    // `icon@2x.png`: an asset name, not an address.
    if (labels.length === 2 && FILE_EXTENSIONS.has((labels[1] ?? '').toLowerCase())) return undefined;
    // `ssh://git@host`: the user part of a URL authority (URL_SECRET judges those).
    for (let i = start - 1; i >= 0 && i >= start - 256; i--) {
      const c = text.charCodeAt(i);
      if (c === 47 /* / */) {
        if (text.charCodeAt(i - 1) === 47 && text.charCodeAt(i - 2) === 58) return undefined;
        break;
      }
      if (c <= 32 || c === 34 || c === 39) break;
    }
    return { start, end: m.index + m[0].length };
  },
};

// ---------------------------------------------------------------------------------------------
// PHONE

const NANP = /^(?:1[ .-]?)?(?:\(([2-9]\d{2})\)[ .-]?|([2-9]\d{2})([ .-]))\d{3}([ .-])\d{4}$/;

function phoneAccept(m: RegExpExecArray): Span | undefined {
  const s = m[0];
  // Most candidates are plain numbers: reject on a digit count before allocating anything.
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
  }
  if (count < 8 || count > 17) return undefined;
  const groups = s.match(/\d+/g) ?? [];
  const digits = groups.join('');
  const n = digits.length;
  if (n < 8 || /^(\d)\1+$/.test(digits)) return undefined;
  const span = { start: m.index, end: m.index + s.length };
  if (s.charCodeAt(0) === 43 /* + */) {
    // E.164 allows at most 15 digits; a "(0)" trunk prefix written after the country code does not count.
    const national = s.includes('(0)') ? n - 1 : n;
    return national >= 8 && national <= 15 && digits.charCodeAt(0) !== 48 ? span : undefined;
  }
  if (groups.length < 2) return undefined; // bare digit strings are ids, not phone numbers
  if (digits.startsWith('00')) return n - 2 >= 8 && n - 2 <= 15 ? span : undefined;
  // NANP: (NPA) NXX-XXXX, NPA-NXX-XXXX, NPA.NXX.XXXX, NPA NXX XXXX, optionally led by 1; the area
  // code starts with 2-9 and unparenthesised forms use one separator throughout.
  const nanp = NANP.exec(s);
  if (nanp !== null) return nanp[2] === undefined || nanp[3] === nanp[4] ? span : undefined;
  // National numbers with a trunk 0 (UK 020 7946 0958, DE 030 12345678, FR 01 23 45 67 89).
  if (digits.charCodeAt(0) === 48 && n >= 10 && n <= 12) {
    const first = (groups[0] ?? '').length;
    if (first < 2 || first > 5) return undefined;
    return span;
  }
  return undefined;
}

const PHONE: Detector = {
  kind: 'PHONE',
  priority: 16,
  gate: 'digits',
  channel: D_PHONE,
  regional: true,
  pattern:
    /(?<![\w+./@#:$%-])\+?(?:\(\d{1,5}\)|\d{1,15})(?:(?:[ ./-]|(?<=\))|(?=\())(?:\(\d{1,5}\)|\d{1,15})){0,6}(?![\w@]|[./:-]\d)/g,
  accept: phoneAccept,
};

// ---------------------------------------------------------------------------------------------
// CARD, US_SSN, IBAN

const CARD: Detector = {
  kind: 'CARD',
  priority: 10,
  gate: 'digits',
  channel: D_CARD,
  regional: true,
  pattern:
    /(?<![\w.+/-])(?:\d{13,19}|\d{4}([ -])(?:\d{4}\1\d{4}\1\d{1,4}(?:\1\d{3})?|\d{6}\1\d{4,5}))(?![\w]|[./-]\d)/g,
  accept(m, text) {
    const digits = m[0].replace(/\D/g, '');
    if (!cardIinPlausible(digits) || !luhnValid(digits)) return undefined;
    // Four-digit groups right after "DE75 " are the middle of an IBAN, not a card.
    if (/[A-Z]{2}\d{2} $/.test(text.slice(Math.max(0, m.index - 5), m.index))) return undefined;
    return { start: m.index, end: m.index + m[0].length };
  },
};

const US_SSN: Detector = {
  kind: 'US_SSN',
  priority: 12,
  gate: 'digits',
  channel: D_SSN,
  regional: true,
  pattern: /(?<![\w./-])(\d{3})([ -])(\d{2})\2(\d{4})(?![\w]|[./-]\d)/g,
  accept(m) {
    if (!ssnValid(m[1] ?? '', m[3] ?? '', m[4] ?? '')) return undefined;
    return { start: m.index, end: m.index + m[0].length };
  },
};

const SSN_IN_WINDOW = /(?<![\w./-])(\d{3})[ -]?(\d{2})[ -]?(\d{4})(?![\w]|[./-]\d)/g;

/** A bare nine-digit SSN is too ambiguous on its own; after "SSN"/"social security" it is not. */
const US_SSN_CONTEXT: Detector = {
  kind: 'US_SSN',
  priority: 12,
  gate: 'words',
  channel: W_SSN,
  pattern: /(?<![A-Za-z])(?:ssn|social[ _-]?security(?:[ _-]?(?:number|no|num|#))?)(?![A-Za-z])/gi,
  accept(m, text) {
    if (insidePlaceholder(text, m.index)) return undefined;
    const from = m.index + m[0].length;
    return firstInWindow(SSN_IN_WINDOW, windowAfter(text, from, 32), from, (c) => {
      const d = c.replace(/\D/g, '');
      return d.length === 9 && ssnValid(d.slice(0, 3), d.slice(3, 5), d.slice(5));
    });
  },
};

const IBAN: Detector = {
  kind: 'IBAN',
  priority: 11,
  gate: 'upper',
  channel: U_IBAN,
  regional: true,
  // "XX12 3456 … DE75 5121 …": an invalid candidate can run on into a valid IBAN.
  retryInside: true,
  pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/g,
  accept(m, text) {
    const s = m[0];
    const length = IBAN_LENGTHS[s.slice(0, 2)];
    if (length === undefined) return undefined;
    // The candidate may run on into the next word ("… 00 EUR"): keep exactly `length` characters.
    let kept = 0;
    let end = 0;
    let compact = '';
    while (end < s.length && kept < length) {
      const c = s[end] as string;
      end++;
      if (c !== ' ') {
        compact += c;
        kept++;
      }
    }
    if (kept < length || !ibanValid(compact)) return undefined;
    const next = text.charCodeAt(m.index + end);
    if (!Number.isNaN(next) && /[A-Za-z0-9]/.test(String.fromCharCode(next))) return undefined;
    return { start: m.index, end: m.index + end };
  },
};

// ---------------------------------------------------------------------------------------------
// IPV4, IPV6

// Words after which a dotted quad is a version or a document number, not an address.
const VERSION_WORDS = new Set([
  'section',
  'sections',
  'sec',
  'chapter',
  'clause',
  'paragraph',
  'figure',
  'fig',
  'table',
  'step',
  'item',
  'rule',
  'article',
  'appendix',
  'v',
  'ver',
  'vers',
  'version',
  'versions',
  'release',
  'rel',
  'build',
  'rev',
  'revision',
  'firmware',
  'fw',
  'patch',
  'sdk',
  'tag',
  'kernel',
  'bump',
  'bumped',
  'upgrade',
  'upgraded',
  'update',
  'updated',
]);

/**
 * The IPv4 context rule: a dotted quad is a version (or document) number, not an address, when
 * (a) the word right before it (same line, within 32 characters, only spaces and punctuation
 *     between) is a version word (`version 1.2.3.4`, `build: 10.2.0.1`, `section 3.2.1.4`), or is a
 *     connector (to/from/is/was/of/at/on/now) itself right after one (`upgraded to 1.2.3.4`), or
 * (b) it directly follows a product token and a slash (`Chrome/120.0.0.0`), or
 * (c) it carries a pre-release or build suffix (`1.2.3.4-beta`, `1.2.3.4+build`).
 * A leading `v`/`V` glued to the number (`v10.2.0.1`) never matches in the first place.
 *
 * @example
 *   ipv4IsVersion('version 1.2.3.4', 8, 15); // true
 *   ipv4IsVersion('from 10.1.2.3', 5, 13); // false
 */
export function ipv4IsVersion(text: string, start: number, end: number): boolean {
  const after = text.charCodeAt(end);
  if ((after === 45 /* - */ || after === 43) /* + */ && isLetter(text.charCodeAt(end + 1))) return true;
  if (start > 1 && text.charCodeAt(start - 1) === 47 /* / */ && isLetter(text.charCodeAt(start - 2)))
    return true;
  const w1 = wordBefore(text, start);
  if (VERSION_WORDS.has(w1.word)) return true;
  return CONNECTORS.has(w1.word) && VERSION_WORDS.has(wordBefore(text, w1.start).word);
}

const CONNECTORS = new Set(['to', 'from', 'is', 'was', 'of', 'at', 'on', 'now']);

const IPV4: Detector = {
  kind: 'IPV4',
  priority: 15,
  gate: 'digits',
  channel: D_IPV4,
  regional: true,
  pattern: /(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)/g,
  accept(m, text) {
    const end = m.index + m[0].length;
    if (!ipv4Valid(m[0]) || ipv4IsVersion(text, m.index, end)) return undefined;
    return { start: m.index, end };
  },
};

const IPV6: Detector = {
  kind: 'IPV6',
  priority: 14,
  gate: 'ipv6',
  regional: true,
  pattern:
    /(?<![\w:.])(?=[0-9A-Fa-f]{0,4}::?[0-9A-Fa-f])[0-9A-Fa-f:]{2,39}(?:\d{1,3}(?:\.\d{1,3}){3})?(?:%[A-Za-z0-9_.-]{1,16})?(?![\w]|:(?::|[0-9A-Fa-f]{1,4}(?![\w.]))|\.\d)/g,
  accept(m) {
    return ipv6Valid(m[0]) ? { start: m.index, end: m.index + m[0].length } : undefined;
  },
};

// ---------------------------------------------------------------------------------------------
// Tokens and keys

const JWT: Detector = {
  kind: 'JWT',
  priority: 1,
  gate: 'jwt',
  pattern:
    /eyJ(?<=(?<![A-Za-z0-9_-])eyJ)(?=([A-Za-z0-9_-]*))\1\.(?=([A-Za-z0-9_-]*))\2\.(?=([A-Za-z0-9_-]*))\3(?:\.(?=([A-Za-z0-9_-]*))\4\.(?=([A-Za-z0-9_-]*))\5)?/g,
  accept(m) {
    if ((m[2] ?? '').length < 2 || !jwtHeaderValid(`eyJ${m[1] ?? ''}`)) return undefined;
    return { start: m.index, end: m.index + m[0].length };
  },
};

const AWS_ACCESS_KEY: Detector = {
  kind: 'AWS_ACCESS_KEY',
  priority: 2,
  gate: 'upper',
  channel: U_AWS,
  regional: true,
  pattern: /(?<![A-Za-z0-9])A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
};

const AWS_SECRET_KEY: Detector = {
  kind: 'AWS_SECRET_KEY',
  priority: 3,
  gate: 'words',
  channel: W_SECRET,
  pattern:
    /(?:aws[A-Za-z0-9_. -]{0,24}secret[A-Za-z0-9_.-]{0,24}|secret[_-]?access[_-]?key)(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*(?:\\?["'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  accept(m) {
    const value = m[1] ?? '';
    const classes = charClasses(value);
    const kinds = (classes & 1) + ((classes >> 1) & 1) + ((classes >> 2) & 1);
    if (kinds < 2 || shannonEntropy(value) < 4) return undefined;
    return suffixSpan(m, value);
  },
};

interface PrefixRule {
  body: RegExp; // sticky, matches the body right after the prefix
  min: number;
  /** Extra check on the body, e.g. that it is not an English word list. */
  random?: boolean;
}

const ALNUM_BODY = /[A-Za-z0-9]*/y;
const DASHED_BODY = /[A-Za-z0-9_-]*/y;
const PREFIX_RULES: Readonly<Record<string, PrefixRule>> = {
  'sk-': { body: DASHED_BODY, min: 20, random: true },
  sk_live_: { body: ALNUM_BODY, min: 16 },
  sk_test_: { body: ALNUM_BODY, min: 16 },
  rk_live_: { body: ALNUM_BODY, min: 16 },
  rk_test_: { body: ALNUM_BODY, min: 16 },
  whsec_: { body: /[A-Za-z0-9+/=]*/y, min: 16 },
  ghp_: { body: ALNUM_BODY, min: 30 },
  gho_: { body: ALNUM_BODY, min: 30 },
  ghu_: { body: ALNUM_BODY, min: 30 },
  ghs_: { body: ALNUM_BODY, min: 30 },
  ghr_: { body: ALNUM_BODY, min: 30 },
  github_pat_: { body: /[A-Za-z0-9_]*/y, min: 40 },
  'xoxb-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'xoxp-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'xoxa-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'xoxr-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'xoxs-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'xapp-': { body: /[A-Za-z0-9-]*/y, min: 10, random: true },
  'glpat-': { body: DASHED_BODY, min: 20 },
  AIza: { body: DASHED_BODY, min: 35 },
  npm_: { body: ALNUM_BODY, min: 36 },
  hf_: { body: ALNUM_BODY, min: 30, random: true },
  'SG.': { body: /[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|/y, min: 33 },
};

/** Whether a key body looks generated: digits, or both cases, rather than lower-case words. */
function bodyLooksRandom(body: string): boolean {
  const classes = charClasses(body);
  return (classes & 4) !== 0 || (classes & 3) === 3;
}

const KEY_PREFIX =
  /sk-|[sr]k_(?:live|test)_|whsec_|gh[pousr]_|github_pat_|xox[abprs]-|xapp-|glpat-|AIza|npm_|hf_|SG\./y;

const API_KEY_PREFIXED: Detector = {
  kind: 'API_KEY',
  priority: 4,
  // Anchored on the prefix's final separator (checked by lookbehind) rather than on its first
  // letter: '-' and '_' are rarer in text than 's', 'g' or 'x', so the scan is about 2x cheaper.
  pattern:
    /-(?<=(?<![A-Za-z0-9_-])(?:sk|xox[abprs]|xapp|glpat)-)|_(?<=(?<![A-Za-z0-9_-])(?:[sr]k_(?:live|test)|whsec|gh[pousr]|github_pat|npm|hf)_)|(?<![A-Za-z0-9_-])(?:AIza|SG\.)/g,
  accept(m, text) {
    let start = m.index;
    if (m[0].length === 1) {
      while (start > 0 && start > m.index - 12 && /[A-Za-z0-9_-]/.test(text[start - 1] ?? '')) start--;
    }
    KEY_PREFIX.lastIndex = start;
    const prefix = KEY_PREFIX.exec(text)?.[0];
    const rule = prefix === undefined ? undefined : PREFIX_RULES[prefix];
    if (prefix === undefined || rule === undefined) return undefined;
    const bodyStart = start + prefix.length;
    rule.body.lastIndex = bodyStart;
    const body = rule.body.exec(text)?.[0] ?? '';
    if (body.length < rule.min) return undefined;
    if (rule.random === true && !bodyLooksRandom(body)) return undefined;
    return { start, end: bodyStart + body.length };
  },
};

const API_KEY_CONTEXT: Detector = {
  kind: 'API_KEY',
  priority: 9,
  gate: 'words',
  channel: W_SECRET,
  // Name-first, so the engine can skip to the names; any name ending in token/secret/key/credential
  // counts (api_key, accessToken, CLIENT_SECRET, signing-key).
  pattern:
    /(?:token|secret|key|credentials?)s?(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*(?:\\?["'])?(?=([A-Za-z0-9_\-./+~=]+))\1/gi,
  accept(m, text) {
    const value = m[1] ?? '';
    if (!looksLikeSecret(value)) return undefined;
    // A bare "key" is often an object or cache key ("key=reports/2024/q1.csv"), not a credential.
    const bareKey =
      /^key/i.test(m[0]) && !isLetter(text.charCodeAt(m.index - 1)) && text[m.index - 1] !== '_';
    if (bareKey && /[/.]/.test(value)) return undefined;
    return suffixSpan(m, value);
  },
};

function bearerAccept(m: RegExpExecArray): Span | undefined {
  const token = m[1] ?? '';
  if (token.length < 16 || isPlaceholder(token) || !bodyLooksRandom(token)) return undefined;
  return suffixSpan(m, token);
}

const BEARER_TOKEN: Detector = {
  kind: 'BEARER_TOKEN',
  priority: 6,
  gate: 'words',
  channel: W_AUTH,
  pattern: /(?<![A-Za-z0-9])(?:[Bb]earer|BEARER)[ \t]+(?=([A-Za-z0-9._~+/-]+=*))\1/g,
  accept: bearerAccept,
};

const BASIC_AUTH: Detector = {
  kind: 'BASIC_AUTH',
  priority: 5,
  gate: 'words',
  channel: W_AUTH,
  pattern: /(?<![A-Za-z0-9])(?:[Bb]asic|BASIC)[ \t]+(?=([A-Za-z0-9+/]+={0,2}))\1/g,
  accept(m) {
    const value = m[1] ?? '';
    if (value.length < 8) return undefined;
    const decoded = Buffer.from(value, 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    if (colon < 1 || !/^[\x20-\x7e\xa0-\xff]+$/.test(decoded)) return undefined;
    return suffixSpan(m, value);
  },
};

const PRIVATE_KEY: Detector = {
  kind: 'PRIVATE_KEY',
  priority: 0,
  gate: 'pem',
  pattern: /-----BEGIN ((?:[A-Z0-9]{1,20} ){0,3})PRIVATE KEY(?: BLOCK)?-----/g,
  accept(m, text) {
    const headerEnd = m.index + m[0].length;
    // The whole block goes, END line included. A block cut short (a truncated log line) goes up to
    // the next PEM boundary or the end of the text, so a partial key never survives either.
    const next = text.indexOf('-----', headerEnd);
    if (next < 0) return { start: m.index, end: text.length };
    if (!text.startsWith('-----END ', next)) return { start: m.index, end: next };
    const close = text.indexOf('-----', next + 9);
    return { start: m.index, end: close < 0 ? text.length : close + 5 };
  },
};

// ---------------------------------------------------------------------------------------------
// PASSWORD, URL_SECRET

const PASSWORD: Detector = {
  kind: 'PASSWORD',
  priority: 8,
  gate: 'words',
  channel: W_SECRET,
  // Name-first for speed; what may precede the name (db_, dbPassword, PGPASSWORD) is judged in accept.
  pattern:
    /(?:pass(?:word|wd|phrase|wort)?|pwd)(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*(?:\\"([^"\\\n]{1,256})|"((?:[^"\\\n]|\\.){1,256})|'([^'\n]{1,256})'|([^\s"',;}\])]{1,256}))/gi,
  accept(m, text) {
    const value = m[1] ?? m[2] ?? m[3] ?? m[4] ?? '';
    // A bare value stops before ']', so "[hidden]" arrives as "[hidden": judge it whole.
    const closed = value.startsWith('[') && text[m.index + m[0].length] === ']' ? `${value}]` : value;
    if (value === '' || isPlaceholder(closed)) return undefined;
    const first = m[0].charCodeAt(0);
    const prev = text.charCodeAt(m.index - 1);
    const prevLower = prev >= 97 && prev <= 122;
    const prevUpperOrDigit = (prev >= 65 && prev <= 90) || (prev >= 48 && prev <= 57);
    // Glued to a word: only camelCase (dbPassword) or UPPER (PGPASSWORD) joins are names; "compass",
    // "bypass" are not.
    if (prevLower && first !== 80 /* P */) return undefined;
    if (prevUpperOrDigit && m[0].charCodeAt(1) !== 65 /* A */ && m[0].charCodeAt(1) !== 87 /* W */)
      return undefined;
    const prefixed = prev === 95 || prev === 46 || prev === 45 || prevLower || prevUpperOrDigit;
    // A bare "pass" is often a test result ("pass: 12"): demand something password-like.
    const name = m[0].slice(0, 4).toLowerCase();
    const bare = name === 'pass' && !/^pass(?:word|wd|phrase|wort)/i.test(m[0]);
    if (bare && !prefixed && (value.length < 4 || /^\d+$/.test(value))) return undefined;
    return suffixSpan(m, value, m[3] !== undefined ? 1 : 0);
  },
};

const URL_USERINFO: Detector = {
  kind: 'URL_SECRET',
  priority: 7,
  gate: 'at',
  // '://'-first with the scheme checked by lookbehind: starting on the scheme's letters made the
  // engine try every word in the region.
  pattern: /:\/\/(?<=(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}:\/\/)([^\s/?#@"'<>\\]{1,256})@/g,
  accept(m) {
    const info = m[1] ?? '';
    const colon = info.indexOf(':');
    const credential = colon >= 0 ? info.slice(colon + 1) : info;
    if (colon >= 0 ? credential === '' || isPlaceholder(credential) : !looksLikeSecret(info))
      return undefined;
    return suffixSpan(m, info, 1);
  },
};

const URL_QUERY: Detector = {
  kind: 'URL_SECRET',
  priority: 7,
  gate: 'query',
  regional: true,
  pattern:
    /[?&;]((?:[A-Za-z0-9]{1,24}[_.-]){0,3}(?:token|key|apikey|secret|password|passwd|pwd|pass|sig|signature|credential|code|session|sessionid|jwt|auth))=([^&#\s"'<>\\]{1,2048})/gi,
  accept(m) {
    const name = (m[1] ?? '').toLowerCase();
    const value = m[2] ?? '';
    if (isPlaceholder(value)) return undefined;
    const passwordish = /(?:^|[_.-])(?:password|passwd|pwd|pass)$/.test(name);
    // "code" is the OAuth authorization code only; promo_code or status_code are not secrets.
    if (name.endsWith('code') && name !== 'code') return undefined;
    if (!passwordish) {
      // Object keys and paths ("?key=reports/2024/q1.csv") are not secrets; base64 signatures
      // and refresh tokens may contain '/'.
      if (value.length < 8 || (/(?:^|[_.-])key$/.test(name) && value.includes('/'))) return undefined;
      if (!bodyLooksRandom(value) && !looksLikeSecret(value)) return undefined;
      if (isUuid(value) && !/token|session|secret/.test(name)) return undefined;
    }
    return suffixSpan(m, value);
  },
};

// ---------------------------------------------------------------------------------------------
// PASSPORT, DATE_OF_BIRTH, POSTAL_ADDRESS (context kinds)

const PASSPORT_ID = /(?<![A-Za-z0-9])[A-Z0-9]{6,9}(?![A-Za-z0-9])/g;

/**
 * Whether a passport-number candidate is plausible: enough digits, not a date, not one repeated character.
 *
 * @example
 *   passportIdPlausible('C01X00T47'); // true
 *   passportIdPlausible('20190314'); // false (a date)
 */
export function passportIdPlausible(id: string): boolean {
  const digits = id.replace(/\D/g, '');
  if (digits.length < 4 || /^(.)\1+$/.test(id)) return false;
  return !(digits.length === 8 && id.length === 8 && writtenDateValid(id));
}

const PASSPORT: Detector = {
  kind: 'PASSPORT',
  priority: 17,
  gate: 'words',
  channel: W_PASSPORT,
  pattern: /(?<![A-Za-z])(?:pass(?:e)?port|reisepass|pasaporte)/gi,
  accept(m, text) {
    if (insidePlaceholder(text, m.index)) return undefined;
    const from = m.index + m[0].length;
    return firstInWindow(PASSPORT_ID, windowAfter(text, from, 48), from, passportIdPlausible);
  },
};

const MONTH_NAME =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const DATE_IN_WINDOW = new RegExp(
  `(?<![\\d/.-])(?:\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}|\\d{1,2}[-/.]\\d{1,2}[-/.](?:\\d{4}|\\d{2})|\\d{8}|\\d{1,2}(?:st|nd|rd|th)?\\.?[ \\t]+(?:of[ \\t]+)?${MONTH_NAME}\\.?,?[ \\t]+\\d{4}|${MONTH_NAME}\\.?[ \\t]+\\d{1,2}(?:st|nd|rd|th)?,?[ \\t]+\\d{4}|\\d{1,2}-${MONTH_NAME}-\\d{2,4})(?![\\d])`,
  'gi',
);

const DATE_OF_BIRTH: Detector = {
  kind: 'DATE_OF_BIRTH',
  priority: 18,
  gate: 'words',
  channel: W_BIRTH,
  // Literal-first (no leading lookbehind) so the engine can skip ahead; word boundaries for the
  // short words are checked in accept. "date of birth", "birthdate", "birthday" all contain "birth".
  pattern: /b(?:irth|orn)|dob|d\.o\.b|geb(?:urt|oren|\.)|naissance|nacimiento/gi,
  accept(m, text) {
    if (insidePlaceholder(text, m.index)) return undefined;
    const w = m[0].toLowerCase();
    if (
      (w === 'dob' || w === 'born') &&
      (isLetter(text.charCodeAt(m.index - 1)) ||
        isLetter(text.charCodeAt(m.index + 3 + (w === 'born' ? 1 : 0))))
    ) {
      return undefined; // adobe, stubborn, borne
    }
    const from = m.index + m[0].length;
    return firstInWindow(DATE_IN_WINDOW, windowAfter(text, from, 40), from, writtenDateValid);
  },
};

const NOT_POSTAL = new Set([
  'ip',
  'ipv4',
  'ipv6',
  'mac',
  'email',
  'e-mail',
  'mail',
  'wallet',
  'memory',
  'server',
  'remote',
  'local',
  'bind',
  'listen',
  'web',
  'url',
  'host',
  'return',
  'base',
  'virtual',
  'contract',
  'node',
  'hardware',
  'bitcoin',
  'eth',
  'ethereum',
  'socket',
  'peer',
  'gateway',
  'proxy',
  'broadcast',
  'network',
  'load',
  'start',
]);
// Where an address value ends: a line end, a quote, a separator or bracket, or the next `key:`.
const ADDRESS_VALUE_END = /[\n"\\;|{}[\]<>:=]|\s[A-Za-z_]{2,30}[:=]/;

const POSTAL_ADDRESS_CONTEXT: Detector = {
  kind: 'POSTAL_ADDRESS',
  priority: 19,
  gate: 'words',
  channel: W_ADDRESS,
  pattern:
    /(?<![A-Za-z])(?:address|addr|adresse|anschrift|direcci[oó]n)(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?/gi,
  accept(m, text) {
    // "IP address:", "email_address=", "wallet address:" name something else.
    if (NOT_POSTAL.has(wordBefore(text, m.index).word)) return undefined;
    const from = m.index + m[0].length;
    const window = text.slice(from, from + 160);
    const stop = ADDRESS_VALUE_END.exec(window);
    let end = stop === null ? window.length : stop.index;
    while (end > 0 && /[\s,.]/.test(window[end - 1] ?? '')) end--;
    const value = window.slice(0, end);
    // A postal address has a number and at least two words, and is none of the look-alikes.
    if (!/\d/.test(value) || !/[A-Za-zÀ-ÿ]{2,}[\s,]+\S*[A-Za-zÀ-ÿ]{2,}/.test(value)) return undefined;
    if (/^[^\s,]*@|^0x|^(?:\d{1,3}\.){3}\d{1,3}/i.test(value)) return undefined; // an e-mail, hex or IP address
    return { start: from, end: from + end };
  },
};

const STREET_NAME_WORD = "(?:[A-Z][A-Za-z'’.-]{0,24}|\\d{1,3}(?:st|nd|rd|th))";
const STREET_EN = `(?<![A-Za-z0-9])\\d{1,5}[A-Za-z]?(?:[-/]\\d{1,4}[A-Za-z]?)?,?[ \\t]+(?:${STREET_NAME_WORD}[ \\t]+){1,4}(?:${STREET_TYPES})\\.?(?![A-Za-z])(?:[ \\t]+(?:N|S|E|W|NE|NW|SE|SW)(?![A-Za-z]))?(?:,?[ \\t]+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|#)\\.?[ \\t]*#?[A-Za-z0-9-]{1,6})?(?:,[ \\t]*[A-Z][A-Za-z'’.-]*(?![\\dA-Za-z])(?:[ \\t]+[A-Z][A-Za-z'’.-]*(?![\\dA-Za-z])){0,3}){0,2}(?:,?[ \\t]+(?:[A-Z]{2}[ \\t]+\\d{5}(?:-\\d{4})?|[A-Z]{1,2}\\d[A-Z\\d]?[ \\t]*\\d[A-Z]{2}|\\d{5}))?`;
const STREET_DE = `(?<![A-Za-zÄÖÜäöüß])[A-ZÄÖÜ][a-zäöüß]{1,30}(?:-[A-ZÄÖÜ]?[a-zäöüß]{1,30}){0,2}[ -]?(?:${DE_STREET})[ \\t]+\\d{1,4}[a-z]?(?![A-Za-z0-9])(?:,?[ \\t]+\\d{5}[ \\t]+[A-ZÄÖÜ][a-zäöüß]+)?`;
const FR_LINK = "(?:(?:de|du|des|la|le|les|aux?)[ \\t]+|[ldLD]['’]){0,3}";
const FR_WORD = "[A-ZÀ-Ý][A-Za-zÀ-ÿ'’-]*";
const STREET_FR = `(?<![A-Za-z0-9])\\d{1,4}(?:[ \\t]?(?:bis|ter))?,?[ \\t]+(?:${FR_STREET})[ \\t]+${FR_LINK}${FR_WORD}(?:[ \\t]+${FR_LINK}${FR_WORD}){0,3}(?:,?[ \\t]+\\d{5}[ \\t]+${FR_WORD})?`;

const POSTAL_ADDRESS_STREET_EN: Detector = {
  kind: 'POSTAL_ADDRESS',
  priority: 19,
  gate: 'upper',
  channel: U_STREET,
  pattern: new RegExp(STREET_EN, 'g'),
};

const POSTAL_ADDRESS_STREET_EU: Detector = {
  kind: 'POSTAL_ADDRESS',
  priority: 19,
  gate: 'words',
  channel: W_EU_STREET,
  pattern: new RegExp(`${STREET_DE}|${STREET_FR}`, 'g'),
};

/** Every built-in detector, in the order they run. */
export const BUILTIN_DETECTORS: readonly Detector[] = [
  PRIVATE_KEY,
  JWT,
  AWS_ACCESS_KEY,
  AWS_SECRET_KEY,
  API_KEY_PREFIXED,
  BASIC_AUTH,
  BEARER_TOKEN,
  URL_USERINFO,
  URL_QUERY,
  PASSWORD,
  API_KEY_CONTEXT,
  CARD,
  IBAN,
  US_SSN,
  US_SSN_CONTEXT,
  EMAIL,
  IPV6,
  IPV4,
  PHONE,
  PASSPORT,
  DATE_OF_BIRTH,
  POSTAL_ADDRESS_CONTEXT,
  POSTAL_ADDRESS_STREET_EN,
  POSTAL_ADDRESS_STREET_EU,
];
