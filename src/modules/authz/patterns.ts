/**
 * Action and resource patterns, as written in the `actions = …` and `resources = …` caveats of a
 * delegation token, and the subset test that keeps attenuation from widening them.
 *
 * ACTIONS. An action name is one or more `.`-separated segments, each segment one or more of
 * `A–Z a–z 0–9 _ -` (at most 256 characters): `llm.call`, `sandbox.fs.read`. An action pattern is
 *   - an exact name, `llm.call`, matching only that name;
 *   - a name followed by `.*`, `sandbox.*`, matching every name that starts with those segments and has
 *     ONE OR MORE segments after them (`sandbox.exec`, `sandbox.fs.read`; not `sandbox` itself);
 *   - `*` alone, matching every action name.
 * `*` is only ever a whole, final segment: `sandbox.*.read`, `sand*` and `*.call` are not patterns.
 *
 * RESOURCES. A resource name is one or more `/`-separated segments; a segment is one or more printable
 * ASCII characters (0x21–0x7E) other than `/`, `*` and `,` (at most 256 characters):
 * `repo:acme/widgets`, `bucket:logs/2024/01`. A resource pattern is `/`-separated pattern segments:
 *   - a literal segment matches exactly that segment;
 *   - a segment with one `*` inside (`*`, `web-*`, `*-prod`, `v*-beta`) matches one segment whose text is
 *     the part before `*`, then ONE OR MORE characters, then the part after; `*` never crosses a `/`;
 *   - `**` as the LAST segment matches ONE OR MORE whole segments; anywhere else it is not a pattern.
 * So `repo:acme/*` matches `repo:acme/widgets` but not `repo:acme/widgets/src` (use `repo:acme/**`),
 * `**` alone matches every resource, and `*` alone only matches one-segment names. A segment with two
 * `*`, or `**` mixed with other characters, is not a pattern.
 *
 * A pattern list (a caveat's value) is comma-separated with no spaces and at most 32 patterns; a name
 * matches the list when it matches any pattern in it.
 *
 * SUBSET. `isSubset(a, b)` is sound: when it answers true, every name matched by `a` is matched by `b`.
 * It is not guaranteed complete: a few true inclusions are answered false, which only means an
 * attenuation is refused (fail closed). The tests check soundness with fast-check.
 *
 * Depends on nothing but the language: the agent SDK reuses this file.
 */

export const MAX_PATTERN_LENGTH = 256;
export const MAX_PATTERNS_PER_LIST = 32;
/** Longest action or resource name matched; longer requests are refused without matching. */
export const MAX_NAME_LENGTH = 256;

export type PatternKind = 'action' | 'resource';

/** A pattern or pattern list that breaks the grammar above. */
export class PatternSyntaxError extends Error {
  override readonly name = 'PatternSyntaxError';
  readonly code = 'invalid_pattern';
}

interface ActionPattern {
  /** The segments before a trailing `*` (empty for `*` alone), or all the segments of an exact name. */
  readonly segments: readonly string[];
  readonly wildcard: boolean;
}

interface ResourceSegment {
  /** A literal segment when `star` is false; otherwise the text before and after its single `*`. */
  readonly prefix: string;
  readonly suffix: string;
  readonly star: boolean;
}

interface ResourcePattern {
  readonly segments: readonly ResourceSegment[];
  /** Ends with `**`, which stands for one or more further segments. */
  readonly tail: boolean;
}

const ACTION_SEGMENT = /^[A-Za-z0-9_-]+$/;
// Resource segment characters: 0x21–0x7E without `*` (2A), `,` (2C) and `/` (2F).
const RESOURCE_CHAR_CLASS = '[\\x21-\\x29\\x2B\\x2D\\x2E\\x30-\\x7E]';
const RESOURCE_SEGMENT = new RegExp(`^${RESOURCE_CHAR_CLASS}+$`);
const ACTION_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const RESOURCE_NAME = new RegExp(`^${RESOURCE_CHAR_CLASS}+(?:/${RESOURCE_CHAR_CLASS}+)*$`);

/**
 * Whether a string is a well-formed action name (not a pattern).
 *
 * @example
 * isValidAction('sandbox.exec'); // true
 * isValidAction('sandbox.*'); // false
 */
export function isValidAction(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && ACTION_NAME.test(name);
}

/**
 * Whether a string is a well-formed resource name (not a pattern).
 *
 * @example
 * isValidResource('repo:acme/widgets'); // true
 * isValidResource('repo:acme//widgets'); // false
 */
export function isValidResource(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && RESOURCE_NAME.test(name);
}

function parseActionPattern(text: string): ActionPattern {
  if (text === '*') return { segments: [], wildcard: true };
  const segments = text.split('.');
  const wildcard = segments[segments.length - 1] === '*';
  if (wildcard) segments.pop();
  for (const s of segments) {
    if (!ACTION_SEGMENT.test(s)) {
      throw new PatternSyntaxError(
        `invalid action pattern "${text}": segments are [A-Za-z0-9_-]+ separated by ".", and "*" may only be the last segment`,
      );
    }
  }
  return { segments, wildcard };
}

function parseResourcePattern(text: string): ResourcePattern {
  const parts = text.split('/');
  const tail = parts[parts.length - 1] === '**';
  if (tail) parts.pop();
  const segments: ResourceSegment[] = [];
  for (const part of parts) {
    const star = part.indexOf('*');
    const literal = star === -1 ? part : part.slice(0, star) + part.slice(star + 1);
    const valid =
      part.length > 0 &&
      (literal.length === 0 || RESOURCE_SEGMENT.test(literal)) &&
      (star !== -1 || literal.length > 0);
    if (!valid) {
      throw new PatternSyntaxError(
        `invalid resource pattern "${text}": each "/" segment is printable ASCII without "*" "," "/", with at most one "*", and "**" only as the last segment`,
      );
    }
    segments.push(
      star === -1
        ? { prefix: part, suffix: '', star: false }
        : { prefix: part.slice(0, star), suffix: part.slice(star + 1), star: true },
    );
  }
  return { segments, tail };
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

const ACTION_SEG_RE = '[A-Za-z0-9_-]+';

function actionRegExpSource(p: ActionPattern): string {
  const fixed = p.segments.map(escapeRegExp).join('\\.');
  if (!p.wildcard) return fixed;
  if (p.segments.length === 0) return `${ACTION_SEG_RE}(?:\\.${ACTION_SEG_RE})*`;
  return `${fixed}(?:\\.${ACTION_SEG_RE})+`;
}

function resourceRegExpSource(p: ResourcePattern): string {
  const seg = `${RESOURCE_CHAR_CLASS}+`;
  const fixed = p.segments
    .map((s) =>
      s.star ? `${escapeRegExp(s.prefix)}${seg}${escapeRegExp(s.suffix)}` : escapeRegExp(s.prefix),
    )
    .join('/');
  if (!p.tail) return fixed;
  return `${fixed}${p.segments.length > 0 ? '/' : ''}${seg}(?:/${seg})*`;
}

/**
 * A parsed, compiled pattern list. Matching is one anchored RegExp built once, whose character classes
 * also enforce the name grammar, so a malformed name never matches.
 */
export class PatternList {
  /** The list as one caveat value: the patterns joined by ",". */
  readonly text: string;
  private readonly regexp: RegExp;

  /** @internal use compileActionPatterns / compileResourcePatterns */
  constructor(
    readonly kind: PatternKind,
    readonly patterns: readonly string[],
    /** @internal */
    readonly parsed: readonly (ActionPattern | ResourcePattern)[],
  ) {
    this.text = patterns.join(',');
    const sources = parsed.map((p) =>
      kind === 'action' ? actionRegExpSource(p as ActionPattern) : resourceRegExpSource(p as ResourcePattern),
    );
    this.regexp = new RegExp(`^(?:${sources.join('|')})$`);
    Object.freeze(this);
  }

  /**
   * Whether the name matches any pattern of the list.
   *
   * @example
   * compileActionPatterns(['sandbox.*']).matches('sandbox.exec'); // true
   */
  matches(name: string): boolean {
    return name.length <= MAX_NAME_LENGTH && this.regexp.test(name);
  }
}

function compile(kind: PatternKind, patterns: readonly string[]): PatternList {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new PatternSyntaxError(`a ${kind} pattern list needs at least one pattern`);
  }
  if (patterns.length > MAX_PATTERNS_PER_LIST) {
    throw new PatternSyntaxError(
      `a ${kind} pattern list has at most ${MAX_PATTERNS_PER_LIST} patterns, got ${patterns.length}`,
    );
  }
  const parsed = patterns.map((p) => {
    if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATTERN_LENGTH) {
      throw new PatternSyntaxError(`a ${kind} pattern is 1 to ${MAX_PATTERN_LENGTH} characters`);
    }
    return kind === 'action' ? parseActionPattern(p) : parseResourcePattern(p);
  });
  return new PatternList(kind, Object.freeze([...patterns]), Object.freeze(parsed));
}

/**
 * Compiles action patterns (throws PatternSyntaxError on a bad one).
 *
 * @example
 * const allowed = compileActionPatterns(['sandbox.*', 'llm.call']);
 * allowed.matches('sandbox.fs.read'); // true
 * allowed.matches('llm.embed'); // false
 */
export function compileActionPatterns(patterns: readonly string[]): PatternList {
  return compile('action', patterns);
}

/**
 * Compiles resource patterns (throws PatternSyntaxError on a bad one).
 *
 * @example
 * const allowed = compileResourcePatterns(['repo:acme/*']);
 * allowed.matches('repo:acme/widgets'); // true
 * allowed.matches('repo:acme/widgets/src'); // false
 */
export function compileResourcePatterns(patterns: readonly string[]): PatternList {
  return compile('resource', patterns);
}

const LIST_CACHE_LIMIT = 1024;
const actionListCache = new Map<string, PatternList>();
const resourceListCache = new Map<string, PatternList>();

/**
 * The compiled list for a caveat value (`sandbox.*,llm.call`), from a small process-wide cache: the same
 * few values recur in every token of a tenant, and compiling a RegExp per verification is what the hot
 * path must not do. Bounded; the oldest value is dropped first.
 *
 * @example
 * patternListFromCaveat('action', 'sandbox.*,llm.call').patterns; // ['sandbox.*', 'llm.call']
 */
export function patternListFromCaveat(kind: PatternKind, value: string): PatternList {
  const cache = kind === 'action' ? actionListCache : resourceListCache;
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  if (value.length > MAX_PATTERNS_PER_LIST * (MAX_PATTERN_LENGTH + 1)) {
    throw new PatternSyntaxError(`a ${kind} pattern list is too long`);
  }
  const list = compile(kind, value.split(','));
  if (cache.size >= LIST_CACHE_LIMIT) {
    // Maps iterate in insertion order: the first key is the oldest entry.
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(value, list);
  return list;
}

function actionSubset(p: ActionPattern, q: ActionPattern): boolean {
  const ps = p.segments;
  const qs = q.segments;
  if (!q.wildcard) {
    if (p.wildcard || ps.length !== qs.length) return false;
    for (let i = 0; i < qs.length; i++) if (ps[i] !== qs[i]) return false;
    return true;
  }
  // q = Q.* matches Q plus one or more segments; p must fix Q as its leading segments and add at least
  // one more segment, either literally or through its own wildcard.
  if (ps.length < qs.length) return false;
  for (let i = 0; i < qs.length; i++) if (ps[i] !== qs[i]) return false;
  return p.wildcard || ps.length > qs.length;
}

function segmentMatches(q: ResourceSegment, literal: string): boolean {
  if (!q.star) return literal === q.prefix;
  return (
    literal.length > q.prefix.length + q.suffix.length &&
    literal.startsWith(q.prefix) &&
    literal.endsWith(q.suffix)
  );
}

function segmentSubset(p: ResourceSegment, q: ResourceSegment): boolean {
  if (!p.star) return segmentMatches(q, p.prefix);
  if (!q.star) return false;
  // p matches prefix_p X suffix_p (|X| ≥ 1); when prefix_p = prefix_q·a and suffix_p = b·suffix_q that is
  // prefix_q (a X b) suffix_q with a non-empty middle, which q matches.
  return p.prefix.startsWith(q.prefix) && p.suffix.endsWith(q.suffix);
}

function resourceSubset(p: ResourcePattern, q: ResourcePattern): boolean {
  const ps = p.segments;
  const qs = q.segments;
  if (!q.tail) {
    if (p.tail || ps.length !== qs.length) return false;
  } else {
    // q needs its fixed segments, then at least one more; p's `**` supplies one or more, and p's fixed
    // segments must cover all of q's fixed ones (a `**` of p could put anything under a fixed q segment).
    if (ps.length < qs.length || ps.length + (p.tail ? 1 : 0) < qs.length + 1) return false;
  }
  for (let i = 0; i < qs.length; i++) if (!segmentSubset(ps[i]!, qs[i]!)) return false;
  return true;
}

/**
 * Whether every name matched by `a` is matched by `b` (sound; see the file comment). Both lists must be of
 * the same kind.
 *
 * @example
 * isSubset(compileActionPatterns(['sandbox.exec']), compileActionPatterns(['sandbox.*'])); // true
 * isSubset(compileResourcePatterns(['repo:acme/**']), compileResourcePatterns(['repo:acme/*'])); // false
 */
export function isSubset(a: PatternList, b: PatternList): boolean {
  if (a.kind !== b.kind)
    throw new PatternSyntaxError(`cannot compare ${a.kind} patterns with ${b.kind} patterns`);
  if (a === b || a.text === b.text) return true;
  if (a.kind === 'action') {
    const bs = b.parsed as readonly ActionPattern[];
    return (a.parsed as readonly ActionPattern[]).every((p) => bs.some((q) => actionSubset(p, q)));
  }
  const bs = b.parsed as readonly ResourcePattern[];
  return (a.parsed as readonly ResourcePattern[]).every((p) => bs.some((q) => resourceSubset(p, q)));
}
