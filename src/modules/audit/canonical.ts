/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an audit record is hashed as.
 *
 * A record that hashes to bytes no verifier can reproduce would break the log's promise, so
 * anything JCS cannot represent (a function, undefined in an array, a sparse array, a lone
 * surrogate, NaN, a Map…) is refused with its path rather than serialized loosely. The serializer
 * is written here (see Checker and sortedCopy) and tested against the RFC 8785 vectors and, on random JSON,
 * against the `canonicalize` package.
 */

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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** `$.a[2]["x-y"]` from the keys and indexes walked so far (built only for an error). */
function pathOf(stack: readonly (string | number)[]): string {
  let path = '$';
  for (const k of stack) {
    if (typeof k === 'number') path += `[${k}]`;
    else path += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return path;
}

/**
 * The checked walk: every refusal, with the path where it is, and an upper bound of the canonical
 * text's UTF-8 length, without building the text. The serializers below (hand-written rather than
 * the `canonicalize` package: every audit record is serialized on the hot path) only signal that
 * they refused; this walk then says what and where. `canonicalize` stays the reference they are
 * tested against (canonical.test.ts: the RFC 8785 vectors and random JSON).
 *
 * JCS (RFC 8785 §3.2) is ES2015+ JSON.stringify for strings and numbers, object members sorted by
 * UTF-16 code units, and no whitespace.
 */
class Checker {
  private readonly stack: (string | number)[] = [];
  private readonly ancestors = new Set<object>();

  fail(problem: string): never {
    throw new CanonicalJsonError(pathOf(this.stack), problem);
  }

  /**
   * Refuses what JCS cannot represent (I-JSON, RFC 7493 §2.1, required by RFC 8785 §3.1, also
   * forbids unpaired surrogates); otherwise an upper bound of the UTF-8 length (a UTF-16 unit is at
   * most 6 bytes once escaped, `\u001f`; a number at most 25).
   */
  bound(value: unknown, depth: number): number {
    switch (typeof value) {
      case 'string':
        if (!value.isWellFormed())
          this.fail('string holds an unpaired UTF-16 surrogate, which I-JSON does not allow');
        return 2 + 6 * value.length;
      case 'boolean':
        return 5;
      case 'number':
        if (!Number.isFinite(value)) this.fail(`${value} is not a JSON number (only finite numbers are)`);
        return 25;
      case 'bigint':
        return this.fail('BigInt is not a JSON number; convert it to a string or a safe integer');
      case 'undefined':
        return this.fail('undefined is not a JSON value; use null or leave the property out');
      case 'function':
      case 'symbol':
        return this.fail(`a ${typeof value} is not a JSON value`);
    }
    if (value === null) return 4;
    const object = value as object;
    if (depth >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    if (this.ancestors.has(object)) this.fail('the value contains a cycle');
    this.ancestors.add(object);
    let size = 2;
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      size = this.bound(toJSON.call(object), depth + 1);
    } else if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        this.stack.push(i);
        if (!(i in object)) this.fail('arrays must not have holes');
        size += this.bound(object[i], depth + 1) + 1;
        this.stack.pop();
      }
    } else {
      const proto = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) {
        this.fail(`a ${describe(object)} is not a plain object; convert it first`);
      }
      const record = object as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        const child = record[key];
        if (child === undefined) continue;
        this.stack.push(key);
        if (!key.isWellFormed())
          this.fail('string holds an unpaired UTF-16 surrogate, which I-JSON does not allow');
        size += 2 + 6 * key.length + 1 + this.bound(child, depth + 1) + 1;
        this.stack.pop();
      }
    }
    this.ancestors.delete(object);
    return size;
  }
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
  try {
    try {
      return JSON.stringify(sortedCopy(value, 0));
    } catch (err) {
      if (err !== UNORDERED) throw err;
      return lean(value, 0);
    }
  } catch (err) {
    if (err !== REFUSED) throw err;
    // The checked walk finds the same problem again, with where it is, and throws it.
    new Checker().bound(value, 0);
    throw new CanonicalJsonError('$', 'the value cannot be represented in canonical JSON');
  }
}

/** Thrown by the fast walks at anything JCS cannot represent; the checked walk then says why. */
const REFUSED = Symbol('refused');
/** Thrown by `sortedCopy` at a key whose place JSON.stringify would not keep (see there). */
const UNORDERED = Symbol('unordered');

/** Sorts keys by UTF-16 code units in place: insertion sort, ~1 µs less than Array#sort for the
 * handful of keys an audit object has, and nothing to do when they already come sorted. */
function sortKeys(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    if (keys[i - 1]! <= k) continue;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/**
 * The common case, fastest: a copy of the value with every object's members inserted in JCS order,
 * checked as it is made, then one native JSON.stringify (whose string and number output is JCS's).
 * For a typical decision record 3.5 µs against 6.5 µs building the text member by member
 * (measured on one ~1 KB record). JavaScript objects enumerate integer-like keys ("7", "10")
 * first and in numeric order whatever their insertion order, and a `__proto__` key assigned to a
 * plain object sets its prototype: a value holding either is serialized by `lean` instead.
 */
function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw REFUSED;
      return value;
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw REFUSED;
      return value;
    case 'object':
      break;
    default:
      throw REFUSED;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw REFUSED;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortedCopy(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw REFUSED;
      out[i] = sortedCopy(value[i], depth + 1);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw REFUSED;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of sortKeys(Object.keys(record))) {
    const child = record[key];
    if (child === undefined) continue;
    if (!key.isWellFormed()) throw REFUSED;
    const c = key.charCodeAt(0);
    if ((c >= 48 && c <= 57) || key === '__proto__') throw UNORDERED;
    out[key] = sortedCopy(child, depth + 1);
  }
  return out;
}

/**
 * Member by member, for values `sortedCopy` cannot order: no bookkeeping for error messages (a
 * path stack per member, an ancestor set per object), which the checked walk keeps. A cycle has no
 * set to catch it here: it runs into MAX_DEPTH and the checked walk names it.
 */
function lean(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw REFUSED;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw REFUSED;
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw REFUSED;
  }
  if (value === null) return 'null';
  if (depth >= MAX_DEPTH) throw REFUSED;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return lean(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw REFUSED;
      out += (i === 0 ? '' : ',') + lean(value[i], depth + 1);
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw REFUSED;
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of sortKeys(Object.keys(record))) {
    const child = record[key];
    if (child === undefined) continue;
    if (!key.isWellFormed()) throw REFUSED;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${lean(child, depth + 1)}`;
  }
  return `${out}}`;
}

/**
 * An upper bound of the UTF-8 length of `canonicalJson(value)`, refusing the same values (it walks
 * members in insertion order, so with several problems it may name another one first), without
 * building the text: size limits on the hot path (a record's metadata) are decided by this and
 * only values near the limit are serialized to be sure.
 *
 * @example
 * if (canonicalSizeBound(metadata) > LIMIT && Buffer.byteLength(canonicalJson(metadata)) > LIMIT) refuse();
 */
export function canonicalSizeBound(value: unknown): number {
  return new Checker().bound(value, 0);
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
