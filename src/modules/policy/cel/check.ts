/**
 * A CEL type checker over the AST of `@bufbuild/cel`.
 *
 * Why it exists: `@bufbuild/cel` (chosen for its evaluator, see bench/results/cel.md) ships no
 * usable type checker, and a policy with an unknown variable, an unknown function or a
 * statically wrong type must be rejected when it is saved, not fail closed on every request.
 *
 * It is deliberately conservative: it rejects an expression only when no evaluation could
 * succeed (`dyn` matches everything), and it resolves functions against the evaluator's own
 * overload table, so "accepted by the checker" and "known to the evaluator" cannot drift apart.
 * Runtime type errors through `dyn` values (most policy data is `map(string, dyn)`) are left to
 * evaluation, which reports them as errors.
 */
import { type CelEnv, CelScalar, type CelType, listType, mapType } from '@bufbuild/cel';
import type { Constant, Expr, Expr_Comprehension } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

/** The first problem found, anchored to the expression node it concerns. */
export interface CheckIssue {
  readonly message: string;
  readonly exprId: bigint;
}

export type CheckResult =
  | {
      readonly ok: true;
      readonly type: CelType;
      /** The declared variables the expression reads (comprehension variables excluded), sorted. */
      readonly variables: readonly string[];
      /**
       * Everything the expression can observe of them, as field paths (`context.model`,
       * `agent.trust_level`), or a bare variable name when it uses the value in another way: the
       * result depends on these values only. Sorted.
       */
      readonly paths: readonly string[];
    }
  | { readonly ok: false; readonly issue: CheckIssue };

export interface CheckOptions {
  /** The evaluator's functions: the only ones an expression may call. */
  readonly funcs: CelEnv['funcs'];
  /** Declared variables and their types; any other identifier is an error. */
  readonly variables: ReadonlyMap<string, CelType>;
  /** Nesting depth beyond which an expression is refused (bounds the recursion). */
  readonly maxDepth: number;
  /** Validates a constant regular expression given to `matches`; returns a message when invalid. */
  readonly validatePattern?: (pattern: string) => string | undefined;
}

const { BOOL, BYTES, DOUBLE, DYN, INT, NULL, STRING, TYPE, UINT } = CelScalar;

/** Identifiers that name a type, usable as values: `type(x) == string`. */
const TYPE_NAMES = new Set([
  'bool',
  'bytes',
  'double',
  'int',
  'list',
  'map',
  'null_type',
  'string',
  'type',
  'uint',
]);

const MAP_KEY_TYPES = new Set(['int', 'uint', 'bool', 'string']);

class CheckFailure extends Error {
  constructor(
    message: string,
    readonly exprId: bigint,
  ) {
    super(message);
  }
}

/**
 * Infers the type of a parsed expression, or reports the first error found.
 *
 * @example
 * const parsed = parse("action.startsWith('sandbox.')");
 * const r = checkExpression(parsed.expr, { funcs: env.funcs, variables: new Map([['action', CelScalar.STRING]]), maxDepth: 64 });
 * r.ok && r.type.name; // 'bool'
 */
export function checkExpression(expr: Expr, options: CheckOptions): CheckResult {
  try {
    const checker = new Checker(options);
    const type = checker.check(expr, 0);
    return { ok: true, type, variables: [...checker.referenced].sort(), paths: [...checker.paths].sort() };
  } catch (e) {
    if (e instanceof CheckFailure) return { ok: false, issue: { message: e.message, exprId: e.exprId } };
    throw e;
  }
}

class Checker {
  // Comprehension variables, innermost last; they shadow declared variables.
  private readonly scopes: Map<string, CelType>[] = [];
  readonly referenced = new Set<string>();
  readonly paths = new Set<string>();
  // > 0 while checking the inside of a field path already recorded whole.
  private insidePath = 0;

  constructor(private readonly options: CheckOptions) {}

  check(e: Expr, depth: number): CelType {
    if (depth > this.options.maxDepth) {
      throw new CheckFailure(`expression is nested more than ${this.options.maxDepth} levels deep`, e.id);
    }
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr':
        return constantType(k.value, e.id);
      case 'identExpr':
        return this.identType(k.value.name, e.id);
      case 'selectExpr': {
        if (!k.value.operand) throw new CheckFailure('selection without an operand', e.id);
        const path = this.variablePath(e);
        if (path !== undefined && this.insidePath === 0) this.paths.add(path);
        if (path !== undefined) this.insidePath++;
        try {
          const operand = this.check(k.value.operand, depth + 1);
          return k.value.testOnly
            ? this.presenceType(operand, k.value.field, e.id)
            : fieldType(operand, k.value.field, e.id);
        } finally {
          if (path !== undefined) this.insidePath--;
        }
      }
      case 'callExpr':
        return this.callType(e, k.value.function, k.value.target, k.value.args, depth);
      case 'listExpr': {
        if (k.value.optionalIndices.length > 0)
          throw new CheckFailure('optional list elements are not supported', e.id);
        return listType(joinTypes(k.value.elements.map((x) => this.check(x, depth + 1))));
      }
      case 'structExpr': {
        if (k.value.messageName !== '') {
          throw new CheckFailure(
            `message construction ${k.value.messageName}{…} is not available in policies`,
            e.id,
          );
        }
        return this.mapLiteralType(e, depth);
      }
      case 'comprehensionExpr':
        return this.comprehensionType(k.value, e.id, depth);
      default:
        throw new CheckFailure('empty expression', e.id);
    }
  }

  /** `context.a.b` as a dotted path when `e` is field selections on a declared variable. */
  private variablePath(e: Expr): string | undefined {
    const fields: string[] = [];
    let cur: Expr | undefined = e;
    while (cur?.exprKind.case === 'selectExpr') {
      fields.unshift(cur.exprKind.value.field);
      cur = cur.exprKind.value.operand;
    }
    if (cur?.exprKind.case !== 'identExpr') return undefined;
    const name = cur.exprKind.value.name;
    if (this.scopes.some((s) => s.has(name)) || !this.options.variables.has(name)) return undefined;
    return [name, ...fields].join('.');
  }

  private identType(name: string, id: bigint): CelType {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const t = this.scopes[i]!.get(name);
      if (t) return t;
    }
    const declared = this.options.variables.get(name);
    if (declared) {
      this.referenced.add(name);
      if (this.insidePath === 0) this.paths.add(name);
      return declared;
    }
    if (TYPE_NAMES.has(name)) return TYPE;
    throw new CheckFailure(`undeclared reference to '${name}'`, id);
  }

  private presenceType(operand: CelType, field: string, id: bigint): CelType {
    if (isDyn(operand) || operand.kind === 'map' || operand.kind === 'object') return BOOL;
    throw new CheckFailure(`has() cannot test field '${field}' of a value of type ${operand}`, id);
  }

  private callType(e: Expr, name: string, target: Expr | undefined, args: Expr[], depth: number): CelType {
    const argTypes = () => args.map((a) => this.check(a, depth + 1));
    switch (name) {
      case '_&&_':
      case '_||_': {
        const op = name === '_&&_' ? '&&' : '||';
        args.forEach((a, i) => {
          const t = this.check(a, depth + 1);
          if (!assignable(BOOL, t))
            throw new CheckFailure(`operator ${op} needs bool operands, got ${t}`, args[i]!.id);
        });
        return BOOL;
      }
      case '_?_:_': {
        const [cond, a, b] = argTypes();
        if (!cond || !a || !b) throw new CheckFailure('conditional needs three operands', e.id);
        if (!assignable(BOOL, cond))
          throw new CheckFailure(`a condition must be bool, got ${cond}`, args[0]!.id);
        return joinTypes([a, b]);
      }
      case '_[_]': {
        const [container, index] = argTypes();
        if (!container || !index) throw new CheckFailure('index needs two operands', e.id);
        return indexType(container, index, e.id);
      }
      case '@not_strictly_false':
        argTypes();
        return BOOL;
    }

    // A namespaced global such as `strings.quote(s)` parses as a method call on `strings`.
    const qualified = target && !this.isVariable(target) ? qualifiedName(target) : undefined;
    if (qualified !== undefined && this.options.funcs.find(`${qualified}.${name}`)) {
      return this.overloadType(e, `${qualified}.${name}`, undefined, argTypes());
    }
    if (qualified !== undefined && !this.identDeclared(qualified.split('.', 1)[0]!)) {
      // `math.greatest(…)` with no such namespace: name the function, not the namespace.
      throw new CheckFailure(`undeclared reference to function '${qualified}.${name}'`, e.id);
    }
    const targetType = target ? this.check(target, depth + 1) : undefined;
    const types = argTypes();
    if (name === 'matches' && this.options.validatePattern) {
      const pattern = args[args.length - 1];
      if (
        pattern?.exprKind.case === 'constExpr' &&
        pattern.exprKind.value.constantKind.case === 'stringValue'
      ) {
        const problem = this.options.validatePattern(pattern.exprKind.value.constantKind.value);
        if (problem) throw new CheckFailure(`invalid regular expression: ${problem}`, pattern.id);
      }
    }
    return this.overloadType(e, name, targetType, types);
  }

  private overloadType(e: Expr, name: string, targetType: CelType | undefined, args: CelType[]): CelType {
    const group = this.options.funcs.find(name);
    if (!group) throw new CheckFailure(`undeclared reference to function '${displayName(name)}'`, e.id);
    const shaped = [...group].filter(
      (f) => (f.target !== undefined) === (targetType !== undefined) && f.arguments.length === args.length,
    );
    if (shaped.length === 0) {
      const form = targetType ? `a method taking ${args.length}` : `a function taking ${args.length}`;
      throw new CheckFailure(`'${displayName(name)}' is not ${form} argument(s)`, e.id);
    }
    const matching = shaped.filter(
      (f) =>
        (targetType === undefined || (f.target !== undefined && assignable(f.target, targetType))) &&
        f.arguments.every((p, i) => assignable(p, args[i]!)),
    );
    const applied = `(${[...(targetType ? [targetType] : []), ...args].join(', ')})`;
    if (matching.length === 0) {
      throw new CheckFailure(
        `found no matching overload for '${displayName(name)}' applied to '${applied}'`,
        e.id,
      );
    }
    // The evaluator's == accepts any pair, and CEL says unlike values are simply unequal; a policy
    // comparing a string with a number is nonetheless always a mistake, so refuse it here.
    if ((name === '_==_' || name === '_!=_') && !comparable(args[0]!, args[1]!)) {
      throw new CheckFailure(
        `comparing ${args[0]} with ${args[1]} is always ${name === '_==_' ? 'false' : 'true'}`,
        e.id,
      );
    }
    return joinTypes(matching.map((f) => f.result));
  }

  private isVariable(target: Expr): boolean {
    return target.exprKind.case === 'identExpr' && this.identDeclared(target.exprKind.value.name);
  }

  private identDeclared(name: string): boolean {
    return this.scopes.some((s) => s.has(name)) || this.options.variables.has(name);
  }

  private mapLiteralType(e: Expr, depth: number): CelType {
    if (e.exprKind.case !== 'structExpr') throw new CheckFailure('not a map literal', e.id);
    const keys: CelType[] = [];
    const values: CelType[] = [];
    const constantKeys = new Set<string>();
    for (const entry of e.exprKind.value.entries) {
      if (entry.optionalEntry) throw new CheckFailure('optional map entries are not supported', entry.id);
      if (entry.keyKind.case !== 'mapKey' || !entry.value)
        throw new CheckFailure('malformed map entry', entry.id);
      const keyExpr = entry.keyKind.value;
      const keyType = this.check(keyExpr, depth + 1);
      if (!isDyn(keyType) && !MAP_KEY_TYPES.has(keyType.name)) {
        throw new CheckFailure(`map keys must be int, uint, bool or string, got ${keyType}`, keyExpr.id);
      }
      if (keyExpr.exprKind.case === 'constExpr') {
        // Equal numbers of different types are the same key in CEL, so compare by numeric value.
        const c = keyExpr.exprKind.value.constantKind;
        const identity =
          c.case === 'int64Value' || c.case === 'uint64Value' ? `n:${c.value}` : `${c.case}:${c.value}`;
        if (constantKeys.has(identity))
          throw new CheckFailure(`duplicate map key ${String(c.value)}`, keyExpr.id);
        constantKeys.add(identity);
      }
      keys.push(keyType);
      values.push(this.check(entry.value, depth + 1));
    }
    const key = joinTypes(keys);
    return mapType(key.kind === 'scalar' ? (key as Parameters<typeof mapType>[0]) : DYN, joinTypes(values));
  }

  private comprehensionType(c: Expr_Comprehension, id: bigint, depth: number): CelType {
    if (!c.iterRange || !c.accuInit || !c.loopCondition || !c.loopStep || !c.result) {
      throw new CheckFailure('incomplete comprehension', id);
    }
    const range = this.check(c.iterRange, depth + 1);
    const iteration = new Map<string, CelType>();
    if (isDyn(range)) {
      iteration.set(c.iterVar, DYN);
      if (c.iterVar2) iteration.set(c.iterVar2, DYN);
    } else if (range.kind === 'list') {
      if (c.iterVar2) {
        iteration.set(c.iterVar, INT);
        iteration.set(c.iterVar2, range.element);
      } else iteration.set(c.iterVar, range.element);
    } else if (range.kind === 'map') {
      iteration.set(c.iterVar, range.key);
      if (c.iterVar2) iteration.set(c.iterVar2, range.value);
    } else {
      throw new CheckFailure(`cannot iterate over a value of type ${range}`, c.iterRange.id);
    }
    const accu = new Map([[c.accuVar, this.check(c.accuInit, depth + 1)]]);
    this.scopes.push(accu);
    try {
      this.scopes.push(iteration);
      try {
        this.check(c.loopCondition, depth + 1);
        this.check(c.loopStep, depth + 1);
      } finally {
        this.scopes.pop();
      }
      return this.check(c.result, depth + 1);
    } finally {
      this.scopes.pop();
    }
  }
}

function constantType(c: Constant, id: bigint): CelType {
  switch (c.constantKind.case) {
    case 'boolValue':
      return BOOL;
    case 'int64Value':
      return INT;
    case 'uint64Value':
      return UINT;
    case 'doubleValue':
      return DOUBLE;
    case 'stringValue':
      return STRING;
    case 'bytesValue':
      return BYTES;
    case 'nullValue':
      return NULL;
    default:
      throw new CheckFailure(`unsupported constant ${String(c.constantKind.case)}`, id);
  }
}

function fieldType(operand: CelType, field: string, id: bigint): CelType {
  if (isDyn(operand)) return DYN;
  if (operand.kind === 'map') {
    if (isDyn(operand.key) || operand.key.name === 'string') return operand.value;
    throw new CheckFailure(`cannot select field '${field}' from ${operand}: its keys are not strings`, id);
  }
  throw new CheckFailure(`a value of type ${operand} has no field '${field}'`, id);
}

function indexType(container: CelType, index: CelType, id: bigint): CelType {
  if (isDyn(container)) return DYN;
  if (container.kind === 'list') {
    if (isDyn(index) || index.name === 'int' || index.name === 'uint') return container.element;
    throw new CheckFailure(`a list index must be int, got ${index}`, id);
  }
  if (container.kind === 'map') {
    if (assignable(container.key, index) || (isNumeric(container.key) && isNumeric(index)))
      return container.value;
    throw new CheckFailure(`a key of type ${index} cannot index ${container}`, id);
  }
  throw new CheckFailure(`a value of type ${container} cannot be indexed`, id);
}

/** `strings.quote` parses as a call on the identifier `strings`; recover the dotted name. */
function qualifiedName(e: Expr): string | undefined {
  if (e.exprKind.case === 'identExpr') return e.exprKind.value.name;
  if (e.exprKind.case === 'selectExpr' && e.exprKind.value.operand && !e.exprKind.value.testOnly) {
    const left = qualifiedName(e.exprKind.value.operand);
    return left === undefined ? undefined : `${left}.${e.exprKind.value.field}`;
  }
  return undefined;
}

const OPERATOR_NAMES: Record<string, string> = {
  '_+_': '+',
  '_-_': '-',
  '_*_': '*',
  '_/_': '/',
  '_%_': '%',
  '_<_': '<',
  '_<=_': '<=',
  '_>_': '>',
  '_>=_': '>=',
  '_==_': '==',
  '_!=_': '!=',
  '!_': '!',
  '-_': '-',
  '@in': 'in',
};

function displayName(name: string): string {
  return OPERATOR_NAMES[name] ?? name;
}

function isDyn(t: CelType): boolean {
  return t.kind === 'scalar' && t.scalar === 'dyn';
}

function isNumeric(t: CelType): boolean {
  return t.kind === 'scalar' && (t.scalar === 'int' || t.scalar === 'uint' || t.scalar === 'double');
}

/** Whether a value of static type `arg` may be passed where `param` is expected. */
function assignable(param: CelType, arg: CelType): boolean {
  if (isDyn(param) || isDyn(arg)) return true;
  if (param.kind === 'list' && arg.kind === 'list') return assignable(param.element, arg.element);
  if (param.kind === 'map' && arg.kind === 'map')
    return assignable(param.key, arg.key) && assignable(param.value, arg.value);
  return param.kind === arg.kind && param.name === arg.name;
}

/** Whether `==` between the two could ever be true. */
function comparable(a: CelType, b: CelType): boolean {
  if (isDyn(a) || isDyn(b) || a.name === 'null_type' || b.name === 'null_type') return true;
  if (isNumeric(a) && isNumeric(b)) return true;
  if (a.kind === 'list' && b.kind === 'list') return comparable(a.element, b.element);
  if (a.kind === 'map' && b.kind === 'map') return comparable(a.key, b.key) && comparable(a.value, b.value);
  return a.kind === b.kind && a.name === b.name;
}

/** The common type of several, or dyn when they differ (CEL's typing of mixed literals). */
function joinTypes(types: readonly CelType[]): CelType {
  const [first, ...rest] = types;
  if (!first) return DYN;
  return rest.every((t) => sameType(t, first)) ? first : DYN;
}

function sameType(a: CelType, b: CelType): boolean {
  return a.toString() === b.toString();
}
