/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an audit record is hashed as.
 *
 * A record that hashes to bytes no verifier can reproduce would break the log's promise, so
 * anything JCS cannot represent (a function, undefined in an array, a sparse array, a lone
 * surrogate, NaN, a Map…) is refused with its path rather than serialized loosely. The serializer
 * is written here (see Serializer) and tested against the RFC 8785 vectors and, on random JSON,
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
 * One walk that checks and serializes. Hand-written rather than the `canonicalize` package plus a
 * separate check walk: every audit record is serialized on the hot path, and two walks (and a
 * path string per property) cost twice. `canonicalize` stays the reference it is tested against
 * (canonical.test.ts: the RFC 8785 vectors and a property test comparing the two on random JSON).
 *
 * JCS (RFC 8785 §3.2) is ES2015+ JSON.stringify for strings and numbers, object members sorted by
 * UTF-16 code units (what Array.prototype.sort does by default), and no whitespace.
 */
class Serializer {
  private readonly stack: (string | number)[] = [];
  private readonly ancestors = new Set<object>();

  fail(problem: string): never {
    throw new CanonicalJsonError(pathOf(this.stack), problem);
  }

  string(s: string): string {
    // I-JSON (RFC 7493 §2.1, required by RFC 8785 §3.1) forbids unpaired surrogates.
    if (!s.isWellFormed())
      this.fail('string holds an unpaired UTF-16 surrogate, which I-JSON does not allow');
    return JSON.stringify(s);
  }

  /**
   * The same walk and the same refusals as `value`, building no text: an upper bound of the UTF-8
   * length (a UTF-16 unit is at most 6 bytes once escaped, `\u001f`; a number at most 25).
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

  value(value: unknown, depth: number): string {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'number':
        if (!Number.isFinite(value)) this.fail(`${value} is not a JSON number (only finite numbers are)`);
        return JSON.stringify(value);
      case 'bigint':
        return this.fail('BigInt is not a JSON number; convert it to a string or a safe integer');
      case 'undefined':
        return this.fail('undefined is not a JSON value; use null or leave the property out');
      case 'function':
      case 'symbol':
        return this.fail(`a ${typeof value} is not a JSON value`);
    }
    if (value === null) return 'null';
    const object = value as object;
    if (depth >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    if (this.ancestors.has(object)) this.fail('the value contains a cycle');
    this.ancestors.add(object);
    let out: string;
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // Dates and similar: JCS (like JSON.stringify) serializes what toJSON returns.
      out = this.value(toJSON.call(object), depth + 1);
    } else if (Array.isArray(object)) {
      out = '[';
      for (let i = 0; i < object.length; i++) {
        this.stack.push(i);
        if (!(i in object)) this.fail('arrays must not have holes');
        out += (i === 0 ? '' : ',') + this.value(object[i], depth + 1);
        this.stack.pop();
      }
      out += ']';
    } else {
      const proto = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) {
        // Map, Set, class instances…: JSON.stringify would quietly drop their contents.
        this.fail(`a ${describe(object)} is not a plain object; convert it first`);
      }
      const record = object as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      out = '{';
      let first = true;
      for (const key of keys) {
        const child = record[key];
        // An undefined property is left out, as JSON.stringify does; optional fields stay optional.
        if (child === undefined) continue;
        this.stack.push(key);
        out += `${first ? '' : ','}${this.string(key)}:${this.value(child, depth + 1)}`;
        this.stack.pop();
        first = false;
      }
      out += '}';
    }
    this.ancestors.delete(object);
    return out;
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
  return new Serializer().value(value, 0);
}

/**
 * The UTF-8 bytes of `canonicalJson(value)`: what the audit log hashes and signs.
 *
 * @example
 * leafHash(canonicalBytes(redactedRecord));
 */
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
  return new Serializer().bound(value, 0);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
