/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an audit record is hashed as.
 *
 * Serialization itself is the `canonicalize` package (it passes every RFC 8785 vector in
 * test/vectors/jcs). Its input checks are loose, though: a function inside an object comes out as
 * the bare word `undefined` (invalid JSON), a sparse array silently loses its holes, a top-level
 * `undefined` returns `undefined`, and lone surrogates are escaped instead of refused. A record
 * that hashes to bytes no verifier can reproduce would break the log's promise, so every value
 * is checked here first and anything JCS cannot represent is refused with its path.
 */
import canonicalizeModule from 'canonicalize';

// The package is CommonJS (`module.exports = fn`) while its types declare an ES default export, so
// under NodeNext TypeScript types the default import as the module object; at runtime Node hands
// over the function itself. Accept both rather than trust either.
const canonicalize: (input: unknown) => string | undefined =
  typeof canonicalizeModule === 'function' ? canonicalizeModule : canonicalizeModule.default;

/** A value JCS cannot represent, with where it was found (`$` is the root). */
export class CanonicalJsonError extends TypeError {
  override readonly name = 'CanonicalJsonError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`cannot canonicalize ${path}: ${problem}`);
  }
}

// Far deeper than any audit record, shallow enough that the recursive serializer cannot overflow
// the stack.
const MAX_DEPTH = 500;

// I-JSON (RFC 7493 §2.1, required by RFC 8785 §3.1) forbids unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function checkString(s: string, path: string): void {
  if (LONE_SURROGATE.test(s)) {
    throw new CanonicalJsonError(
      path,
      'string holds an unpaired UTF-16 surrogate, which I-JSON does not allow',
    );
  }
}

function keyPath(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function check(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new CanonicalJsonError(path, `${value} is not a JSON number (only finite numbers are)`);
      }
      return;
    case 'bigint':
      throw new CanonicalJsonError(
        path,
        'BigInt is not a JSON number; convert it to a string or a safe integer',
      );
    case 'undefined':
      throw new CanonicalJsonError(path, 'undefined is not a JSON value; use null or leave the property out');
    case 'function':
    case 'symbol':
      throw new CanonicalJsonError(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= MAX_DEPTH) throw new CanonicalJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.has(object)) throw new CanonicalJsonError(path, 'the value contains a cycle');

  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Dates and similar: JCS (like JSON.stringify) serializes what toJSON returns.
    ancestors.add(object);
    check(toJSON.call(object), path, depth + 1, ancestors);
    ancestors.delete(object);
    return;
  }

  ancestors.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw new CanonicalJsonError(`${path}[${i}]`, 'arrays must not have holes');
      check(object[i], `${path}[${i}]`, depth + 1, ancestors);
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      // Map, Set, class instances…: JSON.stringify would quietly drop their contents.
      throw new CanonicalJsonError(path, `a ${describe(object)} is not a plain object; convert it first`);
    }
    for (const [key, child] of Object.entries(object)) {
      checkString(key, keyPath(path, key));
      // An undefined property is left out, as JSON.stringify does; optional fields stay optional.
      if (child !== undefined) check(child, keyPath(path, key), depth + 1, ancestors);
    }
  }
  ancestors.delete(object);
}

/**
 * The RFC 8785 canonical JSON text of `value`: object members sorted by UTF-16 code units, no
 * whitespace, ECMAScript number formatting, minimal string escaping.
 *
 * Accepts plain objects, arrays, strings, finite numbers, booleans, null and objects with a
 * `toJSON` method (such as Date). Object properties whose value is `undefined` are left out.
 * Throws `CanonicalJsonError` for anything else: NaN, ±Infinity, BigInt, undefined (at the top
 * level or in an array), functions, symbols, array holes, cycles, non-plain objects (Map, Set,
 * class instances) and strings with unpaired surrogates.
 *
 * @example
 * canonicalJson({ b: [1e21, 0.1], a: 'é' }); // '{"a":"é","b":[1e+21,0.1]}'
 */
export function canonicalJson(value: unknown): string {
  check(value, '$', 0, new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new CanonicalJsonError('$', 'the value has no JSON representation');
  return text;
}

/**
 * The UTF-8 bytes of `canonicalJson(value)`: what the audit log hashes and signs.
 *
 * @example
 * leafHash(canonicalBytes(redactedRecord));
 */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
