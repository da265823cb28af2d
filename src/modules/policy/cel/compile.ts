/**
 * The CEL layer the policy engine uses: compile a rule's `when` once (parse, type-check against
 * the declared policy variables, plan), then evaluate it per decision without ever throwing.
 *
 * Library: `@bufbuild/cel` for parsing and evaluation (chosen by measurement, see
 * bench/results/cel.md); type checking is ours (check.ts) because that library has none.
 */
import {
  type CelEnv,
  CelScalar,
  type CelType,
  celEnv,
  celType,
  isCelError,
  mapType,
  objectType,
  parse,
  plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { ParsedExpr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { RE2JS } from '@bufbuild/re2';
import type { CelActivation } from './activation.js';
import { checkExpression } from './check.js';

export {
  type CelActivation,
  createActivation,
  type DecisionFacts,
  type FactObject,
  type FactValue,
} from './activation.js';

/** Longest `when` source accepted; policies are short, and parse time grows with length. */
export const MAX_EXPRESSION_LENGTH = 8192;
/** Deepest nesting accepted; bounds the checker's recursion on hostile input. */
export const MAX_EXPRESSION_DEPTH = 64;
/** Distinct regular expressions kept compiled; patterns come from policies, so few are live. */
const PATTERN_CACHE_SIZE = 512;
/** Longer patterns (only request data could supply them) are compiled but not kept. */
const MAX_CACHED_PATTERN_LENGTH = 512;

declare const environmentBrand: unique symbol;
declare const programBrand: unique symbol;

/** The declared policy variables and the functions rules may call. Create once, share. */
export interface CelEnvironment {
  readonly [environmentBrand]: true;
}

/** A compiled `when` expression. Immutable; evaluate it any number of times. */
export interface CelProgram {
  readonly [programBrand]: true;
  readonly source: string;
  /** The declared variables the condition reads (`agent`, `context`, …), sorted. */
  readonly variables: readonly string[];
  /** What it can observe of them: field paths such as `context.model`, or whole variables. */
  readonly paths: readonly string[];
}

/** A place in the source: 1-based line and column (in UTF-16 units), 0-based offset. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export interface CompileError extends SourcePosition {
  readonly message: string;
}

export type CompileResult =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly error: CompileError };

export interface EvaluationError {
  readonly message: string;
  /** Where the failing sub-expression starts, when the evaluator says which one failed. */
  readonly position?: SourcePosition;
}

export type EvaluationResult =
  | { readonly ok: true; readonly value: boolean }
  | { readonly ok: false; readonly error: EvaluationError };

interface EnvironmentState {
  readonly env: CelEnv;
  readonly variables: ReadonlyMap<string, CelType>;
  readonly validatePattern: (pattern: string) => string | undefined;
}

interface ProgramState {
  readonly source: string;
  readonly run: ReturnType<typeof plan>;
  readonly positions: { readonly [exprId: string]: number };
  readonly variables: readonly string[];
  readonly paths: readonly string[];
}

const { DYN, DOUBLE, STRING } = CelScalar;
const JSON_OBJECT = mapType(STRING, DYN);

/** The variables every policy rule may read; their values come from createActivation. */
const POLICY_VARIABLES: ReadonlyMap<string, CelType> = new Map<string, CelType>([
  ['agent', JSON_OBJECT],
  ['principal', JSON_OBJECT],
  ['action', STRING],
  ['resource', JSON_OBJECT],
  ['context', JSON_OBJECT],
  // Declared as doubles so `usage.tokens + 1` is refused when saved, not failed per request.
  ['usage', mapType(STRING, DOUBLE)],
  ['risk', JSON_OBJECT],
  ['now', objectType('google.protobuf.Timestamp')],
]);

/**
 * The policy environment: the variables above, CEL's standard library and the strings extension,
 * with `matches` on a bounded cache of compiled RE2 patterns (RE2: linear time whatever the input,
 * so a request cannot make a pattern backtrack).
 *
 * @example
 * const env = createCelEnvironment();
 * const compiled = compileExpression(env, "action.startsWith('sandbox.')");
 */
export function createCelEnvironment(): CelEnvironment {
  const patterns = new Map<string, RE2JS>();
  const compilePattern = (pattern: string): RE2JS => {
    let re = patterns.get(pattern);
    if (!re) {
      re = RE2JS.compile(pattern);
      if (pattern.length <= MAX_CACHED_PATTERN_LENGTH) {
        // Whole-cache reset keeps the bound without LRU bookkeeping on the hot path.
        if (patterns.size >= PATTERN_CACHE_SIZE) patterns.clear();
        patterns.set(pattern, re);
      }
    }
    return re;
  };
  const env = celEnv({ funcs: strings, re2: { compile: compilePattern } });
  const state: EnvironmentState = {
    env,
    variables: POLICY_VARIABLES,
    validatePattern(pattern) {
      try {
        compilePattern(pattern);
        return undefined;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
  };
  return state as unknown as CelEnvironment;
}

/**
 * Parses, type-checks and plans a `when` expression. Never throws: a syntax error, an unknown
 * variable or function, a type error, or a result that cannot be a bool comes back with its position.
 *
 * @example
 * const r = compileExpression(env, "risk.score > 70 && agnet.tier == 'free'");
 * // { ok: false, error: { message: "undeclared reference to 'agnet'", line: 1, column: 20, offset: 19 } }
 */
export function compileExpression(env: CelEnvironment, source: string): CompileResult {
  const state = env as unknown as EnvironmentState;
  if (source.length > MAX_EXPRESSION_LENGTH) {
    return fail(
      source,
      `expression is ${source.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
      0,
    );
  }
  let parsed: ParsedExpr & { expr: NonNullable<ParsedExpr['expr']> };
  try {
    parsed = parse(source);
  } catch (e) {
    if (e instanceof RangeError) return fail(source, 'expression is nested too deeply to parse', 0);
    return fail(source, syntaxMessage(e), syntaxOffset(e, source));
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  let checked: ReturnType<typeof checkExpression>;
  try {
    checked = checkExpression(parsed.expr, {
      funcs: state.env.funcs,
      variables: state.variables,
      maxDepth: MAX_EXPRESSION_DEPTH,
      validatePattern: state.validatePattern,
    });
  } catch (e) {
    // A RangeError from a pathological input is a rejection, not a crash of the caller.
    return fail(source, `expression could not be checked: ${e instanceof Error ? e.message : String(e)}`, 0);
  }
  if (!checked.ok) {
    return fail(
      source,
      checked.issue.message,
      tokenStart(source, positions[checked.issue.exprId.toString()] ?? 0),
    );
  }
  const resultType = checked.type;
  if (!(resultType.kind === 'scalar' && (resultType.scalar === 'bool' || resultType.scalar === 'dyn'))) {
    return fail(source, `a condition must be bool, but this expression is ${resultType}`, 0);
  }
  let run: ProgramState['run'];
  try {
    run = plan(state.env, parsed);
  } catch (e) {
    return fail(source, `expression could not be planned: ${e instanceof Error ? e.message : String(e)}`, 0);
  }
  const program: ProgramState = {
    source,
    run,
    positions,
    variables: checked.variables,
    paths: checked.paths,
  };
  return { ok: true, program: program as unknown as CelProgram };
}

/**
 * Evaluates a compiled condition. Never throws: an evaluation error (missing key, division by
 * zero, overflow, a type mismatch through dyn) or a non-bool result is returned as an error.
 *
 * @example
 * const activation = createActivation(facts); // once per decision
 * for (const rule of rules) {
 *   const r = evaluate(rule.program, activation);
 *   if (!r.ok) return failClosed(rule, r.error);
 *   if (r.value) matched.push(rule);
 * }
 */
export function evaluate(program: CelProgram, activation: CelActivation): EvaluationResult {
  const p = program as unknown as ProgramState;
  let value: unknown;
  try {
    value = p.run(activation);
  } catch (e) {
    // plan() promises to return errors, not throw them; this guards the promise.
    return { ok: false, error: { message: e instanceof Error ? e.message : String(e) } };
  }
  if (typeof value === 'boolean') return { ok: true, value };
  if (isCelError(value)) {
    const offset = value.exprId === undefined ? undefined : p.positions[value.exprId.toString()];
    return {
      ok: false,
      error:
        offset === undefined
          ? { message: value.message }
          : { message: value.message, position: positionAt(p.source, tokenStart(p.source, offset)) },
    };
  }
  return { ok: false, error: { message: `a condition must evaluate to bool, got ${typeNameOf(value)}` } };
}

function typeNameOf(value: unknown): string {
  try {
    return celType(value as Parameters<typeof celType>[0]).toString();
  } catch {
    // Not a CEL value at all; evaluate() must still answer rather than throw.
    return typeof value;
  }
}

function fail(source: string, message: string, offset: number): CompileResult {
  return { ok: false, error: { message, ...positionAt(source, offset) } };
}

/**
 * Line and column of an offset.
 *
 * @example
 * positionAt('a &&\n  b', 7); // { line: 2, column: 3, offset: 7 }
 */
export function positionAt(source: string, offset: number): SourcePosition {
  const at = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1, offset: at };
}

/** The parser places an operator at the blank before it; point at the operator itself. */
function tokenStart(source: string, offset: number): number {
  let i = offset;
  while (i < source.length && /\s/.test(source[i]!)) i++;
  return i < source.length ? i : offset;
}

interface SyntaxErrorShape {
  readonly rawMessage?: unknown;
  readonly location?: { readonly start?: { readonly offset?: unknown } };
}

function syntaxMessage(e: unknown): string {
  const raw = (e as SyntaxErrorShape | null)?.rawMessage;
  if (typeof raw === 'string') return `syntax error: ${raw}`;
  const text = e instanceof Error ? e.message : String(e);
  // The library prefixes "<input>:line:col: "; the position is reported separately.
  return `syntax error: ${text.replace(/^<input>:\d+:\d+: /, '')}`;
}

function syntaxOffset(e: unknown, source: string): number {
  const offset = (e as SyntaxErrorShape | null)?.location?.start?.offset;
  if (typeof offset === 'number') return offset;
  const m = /^<input>:(\d+):(\d+):/.exec(e instanceof Error ? e.message : '');
  if (!m) return 0;
  const lines = source.split('\n');
  let offsetOfLine = 0;
  for (let i = 0; i < Number(m[1]) - 1 && i < lines.length; i++) offsetOfLine += lines[i]!.length + 1;
  return offsetOfLine + Number(m[2]) - 1;
}
