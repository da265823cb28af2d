/**
 * The redactor: runs the detectors over a string or a JSON value and replaces every finding with
 * `[REDACTED:KIND]`, so the audit log never stores the original.
 *
 * Hand-written rather than built on a redaction library because it sits on the audit append hot
 * path (50k records/s per deployment): the no-hit path must cost a few native scans and allocate
 * nothing but the result object, which general-purpose libraries (one regex per rule, run
 * unconditionally) do not offer. See detectors.ts for the gating scheme.
 */
import {
  BUILTIN_DETECTORS,
  type Detector,
  GATES,
  type GateId,
  passportIdPlausible,
  type Span,
} from './detectors.js';
import { FieldClass, FieldClassCache } from './field-names.js';
import { isKindName, PII_KINDS, type PiiKind, replacementFor } from './kinds.js';
import { cardIinPlausible, luhnValid, ssnValid, writtenDateValid } from './validators.js';

/** A tenant-defined pattern (employee ids, internal account numbers, …). */
export interface ExtraPattern {
  /** Upper snake case; appears as `[REDACTED:<kind>]`. */
  kind: string;
  /**
   * Runs over every string that reaches the detectors, so it must not backtrack catastrophically
   * (no nested quantifiers over the same characters). The `g` flag is added if missing.
   */
  pattern: RegExp;
  /**
   * Further check on the matched text; the match is redacted only if this returns true. Must not
   * call back into the same redactor.
   */
  validate?: (match: string) => boolean;
}

/** Limits on what `redactValue` walks; beyond them values are replaced by `[REDACTED:TRUNCATED]`. */
export interface ValueLimits {
  /** Nesting depth of arrays/objects (the root is depth 0). */
  maxDepth: number;
  /** Values visited (containers, scalars and keys). */
  maxNodes: number;
  /** Total characters over all strings and keys. */
  maxChars: number;
}

export interface RedactorOptions {
  /** Kinds to detect; default all of `PII_KINDS`. `SECRET_FIELD` enables key-name redaction. */
  kinds?: readonly PiiKind[];
  extraPatterns?: readonly ExtraPattern[];
  limits?: Partial<ValueLimits>;
}

export interface RedactionHit {
  kind: string;
  count: number;
}

export interface StringRedaction {
  /** The input itself (same instance) when nothing was found. */
  text: string;
  hits: readonly RedactionHit[];
}

export interface ValueRedaction<T = unknown> {
  /** The input itself (same instance) when nothing was found; otherwise a copy, the input untouched. */
  value: T;
  hits: readonly RedactionHit[];
  /** True when a limit was hit and part of the value was replaced by `[REDACTED:TRUNCATED]`. */
  truncated: boolean;
}

export interface Redactor {
  /** The kinds this redactor detects, built-in and extra. */
  readonly kinds: readonly string[];
  redactString(text: string): StringRedaction;
  redactValue<T>(value: T): ValueRedaction<T | string>;
}

export const DEFAULT_VALUE_LIMITS: Readonly<ValueLimits> = {
  maxDepth: 32,
  maxNodes: 100_000,
  maxChars: 1024 * 1024,
};

export const TRUNCATED = '[REDACTED:TRUNCATED]';

const NO_HITS: readonly RedactionHit[] = Object.freeze([]);
/** Shared, never written: the no-finding path of redactValue allocates no map. */
const EMPTY_FINDINGS: Map<string, Finding[]> = new Map();
const GATE_IDS = Object.keys(GATES) as GateId[];
const MAX_EXTRA_PATTERNS = 64;
/** Strings up to this length that scanned clean are remembered (keys, enum-like values repeat). */
const CLEAN_CACHE_MAX_LENGTH = 64;
const CLEAN_CACHE_MAX_ENTRIES = 16_384;
const EXTRA_PRIORITY = 50;

interface Compiled {
  readonly kind: string;
  readonly priority: number;
  readonly re: RegExp;
  readonly gate: number; // index into GATE_IDS, -1 for none
  readonly channel: number;
  readonly regional: boolean;
  readonly retryInside: boolean;
  readonly accept: ((m: RegExpExecArray, text: string) => Span | undefined) | undefined;
}

interface Finding {
  start: number;
  end: number;
  kind: string;
  priority: number;
}

/**
 * Builds a redactor for one configuration. Construction compiles and validates everything; the
 * caller keeps one per tenant configuration and reuses it.
 *
 * @example
 *   const redactor = createRedactor({ kinds: ['EMAIL', 'CARD', 'SECRET_FIELD'] });
 *   redactor.redactString('mail bob@example.org').text; // 'mail [REDACTED:EMAIL]'
 *   redactor.redactValue({ user: 'bob', password: 'hunter2' }).value;
 *   // { user: 'bob', password: '[REDACTED:SECRET_FIELD]' }
 */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const kinds = new Set<string>(options.kinds ?? PII_KINDS);
  for (const k of kinds) {
    if (!(PII_KINDS as readonly string[]).includes(k)) {
      throw new TypeError(
        `unknown redaction kind ${JSON.stringify(k)}; known kinds: ${PII_KINDS.join(', ')}`,
      );
    }
  }
  const compiled: Compiled[] = BUILTIN_DETECTORS.filter((d) => kinds.has(d.kind)).map(compileDetector);
  const extras: Compiled[] = [];
  const extra = options.extraPatterns ?? [];
  if (extra.length > MAX_EXTRA_PATTERNS) {
    throw new RangeError(`at most ${MAX_EXTRA_PATTERNS} extra patterns, got ${extra.length}`);
  }
  for (const p of extra) {
    if (!isKindName(p.kind)) {
      throw new TypeError(
        `extra pattern kind must be UPPER_SNAKE_CASE (at most 40 characters), got ${JSON.stringify(p.kind)}`,
      );
    }
    if (!(p.pattern instanceof RegExp))
      throw new TypeError(`extra pattern ${p.kind}: pattern must be a RegExp`);
    const flags = p.pattern.flags.includes('g') ? p.pattern.flags : `${p.pattern.flags}g`;
    const re = new RegExp(p.pattern.source, flags.replace('y', ''));
    const validate = p.validate;
    extras.push({
      kind: p.kind,
      priority: EXTRA_PRIORITY,
      re,
      gate: -1,
      channel: 0,
      regional: false,
      retryInside: false,
      accept:
        validate === undefined
          ? undefined
          : (m) => (validate(m[0]) ? { start: m.index, end: m.index + m[0].length } : undefined),
    });
    kinds.add(p.kind);
  }
  const limits: ValueLimits = { ...DEFAULT_VALUE_LIMITS, ...options.limits };
  const secretFields = kinds.has('SECRET_FIELD');
  const fieldClasses = new FieldClassCache();
  // Whether a string is clean depends only on the string and this configuration, so it can be
  // remembered; audit records repeat their keys and most of their values. Cleared when full
  // rather than evicted one by one: cheaper, and the hot entries come back within a few records.
  const clean = new Set<string>();
  // Gate results for the string being scanned; -1 = not evaluated yet. Reused across calls
  // (scans are synchronous and never nested) so the no-hit path allocates nothing here.
  const gateMemo = new Int32Array(GATE_IDS.length);
  const gateRegions: number[][] = GATE_IDS.map(() => []);

  /** Findings of the built-in detectors, and of the extra patterns unless `withExtras` is false. */
  function scan(text: string, withExtras = true): Finding[] | undefined {
    if (text.length < 3) return undefined;
    gateMemo.fill(-1);
    let findings: Finding[] | undefined;
    if (withExtras) for (const d of extras) findings = findIn(d, text, text, 0, findings);
    for (const d of compiled) {
      let regions: number[] | undefined;
      if (d.gate >= 0) {
        let open = gateMemo[d.gate] as number;
        const r = gateRegions[d.gate] as number[];
        if (open < 0) {
          r.length = 0;
          open = GATES[GATE_IDS[d.gate] as GateId](text, r);
          gateMemo[d.gate] = open;
        }
        if ((open & d.channel) === 0) continue;
        if (d.regional && r.length > 0) regions = r;
      }
      if (regions === undefined) {
        findings = findIn(d, text, text, 0, findings);
        continue;
      }
      for (let i = 0; i < regions.length; i += 2) {
        const a = regions[i] as number;
        findings = findIn(d, text, text.slice(a, regions[i + 1]), a, findings);
      }
    }
    return findings;
  }

  function redactString(text: string): StringRedaction {
    const findings = scan(text);
    if (findings === undefined) return { text, hits: NO_HITS };
    return applyFindings(text, findings);
  }

  function redactValue<T>(value: T): ValueRedaction<T | string> {
    const walk = new Walk(limits, secretFields ? fieldClasses : undefined, kinds, clean);
    walk.collect(value, 0, FieldClass.None);
    const strings = walk.strings;
    // One scan over all strings joined by newlines: the newline is neutral for every detector
    // (none matches across it, and context windows stop at it), so the findings are exactly the
    // per-string findings at shifted offsets, for the cost of one scan instead of one per string.
    const findings = strings.length === 0 ? undefined : scan(strings.join('\n'), false);
    let local = findings === undefined ? EMPTY_FINDINGS : splitFindings(strings, findings);
    // Tenant patterns may use ^/$ or match across a newline, so they run on each string alone.
    if (extras.length > 0) {
      if (local === EMPTY_FINDINGS) local = new Map();
      for (const s of new Set(strings)) {
        let found = local.get(s);
        for (const d of extras) found = findIn(d, s, s, 0, found);
        if (found !== undefined) local.set(s, found);
      }
    }
    const redacted =
      local.size === 0
        ? undefined
        : new Map<string, StringRedaction>([...local].map(([s, f]) => [s, applyFindings(s, f)]));
    if (clean.size + strings.length > CLEAN_CACHE_MAX_ENTRIES) clean.clear();
    for (const s of strings)
      if (s.length <= CLEAN_CACHE_MAX_LENGTH && redacted?.has(s) !== true) clean.add(s);
    if (redacted === undefined && !walk.needsRewrite) return { value, hits: NO_HITS, truncated: false };
    walk.useRedactions(redacted, redactString);
    const rewritten = walk.rewrite(value, 0, FieldClass.None);
    return { value: rewritten as T | string, hits: walk.hitList(), truncated: walk.truncated };
  }

  return { kinds: [...kinds], redactString, redactValue };
}

/**
 * Runs one detector over `window` (the whole text, or a region of it starting at `offset`);
 * candidates are validated against the whole text so context checks see past the window.
 */
function findIn(
  d: Compiled,
  text: string,
  window: string,
  offset: number,
  findings: Finding[] | undefined,
): Finding[] | undefined {
  const re = d.re;
  re.lastIndex = 0;
  for (let m = re.exec(window); m !== null; m = re.exec(window)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const at = m.index;
    m.index += offset;
    const span = d.accept === undefined ? { start: m.index, end: m.index + m[0].length } : d.accept(m, text);
    if (span === undefined || span.end <= span.start) {
      if (d.retryInside) re.lastIndex = at + 1;
      continue;
    }
    findings ??= [];
    findings.push({ start: span.start, end: span.end, kind: d.kind, priority: d.priority });
    // Resume right after what was taken, not after the whole candidate, which may have run on
    // into the next finding ("IBAN IBAN" is one greedy candidate that accept trims to the first).
    re.lastIndex = Math.max(at + 1, span.end - offset);
  }
  return findings;
}

function compileDetector(d: Detector): Compiled {
  return {
    kind: d.kind,
    priority: d.priority,
    re: new RegExp(d.pattern.source, d.pattern.flags),
    gate: d.gate === undefined ? -1 : GATE_IDS.indexOf(d.gate),
    channel: d.channel ?? 1,
    regional: d.regional === true,
    retryInside: d.retryInside === true,
    accept: d.accept,
  };
}

/**
 * Replaces findings. Overlapping findings are merged into one replacement covering their union
 * (so no fragment of either survives), named after the longest of them (ties: lower priority).
 */
function applyFindings(text: string, findings: Finding[]): StringRedaction {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const counts = new Map<string, number>();
  let out = '';
  let last = 0;
  let i = 0;
  while (i < findings.length) {
    const first = findings[i] as Finding;
    let end = first.end;
    let best = first;
    for (i++; i < findings.length && (findings[i] as Finding).start < end; i++) {
      const f = findings[i] as Finding;
      if (f.end > end) end = f.end;
      const fl = f.end - f.start;
      const bl = best.end - best.start;
      if (fl > bl || (fl === bl && f.priority < best.priority)) best = f;
    }
    out += text.slice(last, first.start) + replacementFor(best.kind);
    last = end;
    counts.set(best.kind, (counts.get(best.kind) ?? 0) + 1);
  }
  out += text.slice(last);
  return { text: out, hits: toHits(counts) };
}

/**
 * Maps findings in `strings.join('\n')` back to the strings holding them, keyed by content (equal
 * strings have equal findings). A finding is clamped to its string: only a truncated PEM block can
 * run past a newline, and on its own the string would end there too.
 */
function splitFindings(strings: readonly string[], findings: Finding[]): Map<string, Finding[]> {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const out = new Map<string, Finding[]>();
  let i = 0;
  let offset = 0;
  let f = 0;
  while (f < findings.length && i < strings.length) {
    const s = strings[i] as string;
    const end = offset + s.length;
    let local: Finding[] | undefined;
    for (; f < findings.length && (findings[f] as Finding).start < end + 1; f++) {
      const g = findings[f] as Finding;
      if (g.start >= end) continue; // on the separator
      local ??= [];
      local.push({
        start: g.start - offset,
        end: Math.min(g.end, end) - offset,
        kind: g.kind,
        priority: g.priority,
      });
    }
    if (local !== undefined && !out.has(s)) out.set(s, local);
    offset = end + 1;
    i++;
  }
  return out;
}

function toHits(counts: Map<string, number>): RedactionHit[] {
  const hits: RedactionHit[] = [];
  for (const [kind, count] of counts) hits.push({ kind, count });
  return hits;
}

function addHits(into: Map<string, number>, hits: readonly RedactionHit[]): void {
  for (const h of hits) into.set(h.kind, (into.get(h.kind) ?? 0) + h.count);
}

/** Value-level replacement for a string under a context key (`dob`, `passport_no`, …), if it fits the kind. */
function keyedKind(cls: FieldClass, value: string, kinds: ReadonlySet<string>): string | undefined {
  const v = value.trim();
  switch (cls) {
    case FieldClass.BirthDate:
      return kinds.has('DATE_OF_BIRTH') && writtenDateValid(v) ? 'DATE_OF_BIRTH' : undefined;
    case FieldClass.Passport:
      return kinds.has('PASSPORT') && /^[A-Z0-9]{6,9}$/.test(v) && passportIdPlausible(v)
        ? 'PASSPORT'
        : undefined;
    case FieldClass.Ssn: {
      const d = /^(\d{3})[ -]?(\d{2})[ -]?(\d{4})$/.exec(v);
      return kinds.has('US_SSN') && d !== null && ssnValid(d[1] ?? '', d[2] ?? '', d[3] ?? '')
        ? 'US_SSN'
        : undefined;
    }
    case FieldClass.Address:
      return kinds.has('POSTAL_ADDRESS') &&
        /\d/.test(v) &&
        /[A-Za-zÀ-ÿ]{2,}\s+\S*[A-Za-zÀ-ÿ]{2,}/.test(v) &&
        !/@|:\/\//.test(v)
        ? 'POSTAL_ADDRESS'
        : undefined;
    default:
      return undefined;
  }
}

/** Integers long enough to be card numbers (a card stored as a JSON number is still a card). */
function numberIsCard(n: number, kinds: ReadonlySet<string>): boolean {
  if (!kinds.has('CARD') || !Number.isSafeInteger(n) || n < 1e12) return false;
  const digits = String(n);
  return cardIinPlausible(digits) && luhnValid(digits);
}

/**
 * One `redactValue` call: a first pass collects the strings and notes anything the key names
 * alone decide (secret fields, context keys, limits); a second pass, only when needed, builds the
 * redacted copy, sharing every unchanged subtree with the input.
 */
class Walk {
  readonly strings: string[] = [];
  needsRewrite = false;
  truncated = false;
  readonly #counts = new Map<string, number>();
  #nodes = 0;
  #chars = 0;
  #rewriteNodes = 0;
  #rewriteChars = 0;
  #redacted: ReadonlyMap<string, StringRedaction> | undefined;
  #scanned: Set<string> | undefined;
  #fallback: (s: string) => StringRedaction = (s) => ({ text: s, hits: NO_HITS });

  constructor(
    private readonly limits: ValueLimits,
    private readonly fields: FieldClassCache | undefined,
    private readonly kinds: ReadonlySet<string>,
    private readonly clean: ReadonlySet<string>,
  ) {}

  collect(value: unknown, depth: number, cls: FieldClass): void {
    if (++this.#nodes > this.limits.maxNodes) {
      this.needsRewrite = true;
      return;
    }
    if (typeof value === 'string') {
      this.#chars += value.length;
      if (this.#chars > this.limits.maxChars) this.needsRewrite = true;
      else if (cls !== FieldClass.None && keyedKind(cls, value, this.kinds) !== undefined)
        this.needsRewrite = true;
      else if (!this.clean.has(value)) this.strings.push(value);
      return;
    }
    if (typeof value === 'number') {
      if (numberIsCard(value, this.kinds)) this.needsRewrite = true;
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    if (depth >= this.limits.maxDepth) {
      this.needsRewrite = true;
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        this.collect(item, depth + 1, FieldClass.None);
        if (this.needsRewrite && this.#nodes > this.limits.maxNodes) return;
      }
      return;
    }
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      this.#chars += key.length;
      if (!this.clean.has(key)) this.strings.push(key);
      const keyCls = this.fields === undefined ? FieldClass.None : this.fields.get(key);
      if (keyCls === FieldClass.Secret && isSecretBearing(child)) {
        this.needsRewrite = true;
        ++this.#nodes;
        continue;
      }
      this.collect(child, depth + 1, keyCls);
      if (this.needsRewrite && this.#nodes > this.limits.maxNodes) return;
    }
  }

  /** Builds the redacted copy; `redact` gives each string's redaction (from the joined scan). */
  /** The redactions found by the joined scan, and what to do with a string it did not see. */
  useRedactions(
    redacted: ReadonlyMap<string, StringRedaction> | undefined,
    fallback: (s: string) => StringRedaction,
  ): void {
    this.#redacted = redacted;
    this.#fallback = fallback;
  }

  /** A string's redacted text, counting its hits; allocation-free for clean strings. */
  #text(s: string): string {
    if (this.clean.has(s)) return s;
    const r = this.#redacted?.get(s);
    if (r !== undefined) {
      addHits(this.#counts, r.hits);
      return r.text;
    }
    this.#scanned ??= new Set(this.strings);
    if (this.#scanned.has(s)) return s;
    // Not part of the joined scan (cannot happen while collect and rewrite agree on the limits);
    // never let it through unexamined.
    const f = this.#fallback(s);
    if (f.hits.length > 0) addHits(this.#counts, f.hits);
    return f.text;
  }

  rewrite(value: unknown, depth: number, cls: FieldClass): unknown {
    if (++this.#rewriteNodes > this.limits.maxNodes) return this.#truncate();
    if (typeof value === 'string') {
      this.#rewriteChars += value.length;
      if (this.#rewriteChars > this.limits.maxChars) return this.#truncate();
      const keyed = cls === FieldClass.None ? undefined : keyedKind(cls, value, this.kinds);
      if (keyed !== undefined) return this.#replace(keyed);
      return this.#text(value);
    }
    if (typeof value === 'number') return numberIsCard(value, this.kinds) ? this.#replace('CARD') : value;
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= this.limits.maxDepth) return this.#truncate();
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const next = this.rewrite(item, depth + 1, FieldClass.None);
        if (next !== item && copy === undefined) copy = value.slice(0, i);
        copy?.push(next);
      }
      return copy ?? value;
    }
    const keys = Object.keys(value);
    let entries: [string, unknown][] | undefined;
    let used: Set<string> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const child = (value as Record<string, unknown>)[key];
      this.#rewriteChars += key.length;
      const keyCls = this.fields === undefined ? FieldClass.None : this.fields.get(key);
      let next: unknown;
      if (keyCls === FieldClass.Secret && isSecretBearing(child)) {
        ++this.#rewriteNodes;
        next = this.#replace('SECRET_FIELD');
      } else {
        next = this.rewrite(child, depth + 1, keyCls);
      }
      const redactedKey = this.#text(key);
      let newKey = redactedKey;
      if ((next !== child || newKey !== key) && entries === undefined) {
        entries = [];
        used = new Set();
        for (let j = 0; j < i; j++) {
          const k = keys[j] as string;
          entries.push([k, (value as Record<string, unknown>)[k]]);
          used.add(k);
        }
      }
      if (entries !== undefined && used !== undefined) {
        // Two keys can redact to the same text; keep both values rather than let one overwrite the other.
        for (let n = 2; used.has(newKey); n++) newKey = `${redactedKey}#${n}`;
        used.add(newKey);
        entries.push([newKey, next]);
      }
    }
    // fromEntries defines own properties, so a "__proto__" key stays data and never becomes a prototype.
    return entries === undefined ? value : Object.fromEntries(entries);
  }

  hitList(): readonly RedactionHit[] {
    return this.#counts.size === 0 ? NO_HITS : toHits(this.#counts);
  }

  #replace(kind: string): string {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    return replacementFor(kind);
  }

  #truncate(): string {
    this.truncated = true;
    return TRUNCATED;
  }
}

/** Null, booleans and empty strings under a secret-named key carry no secret and are kept as they are. */
function isSecretBearing(value: unknown): boolean {
  return value !== null && value !== undefined && typeof value !== 'boolean' && value !== '';
}
