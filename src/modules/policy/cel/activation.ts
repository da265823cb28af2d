/**
 * The variables a policy rule sees, built once per decision.
 *
 * Hot path: a decision evaluates every rule of the active policy set against the same facts, so
 * one activation is built per decision and handed to every rule. Nothing is copied: a variable is
 * wrapped when a rule first reads it, and CEL reads objects through {@link JsonObjectView}, which
 * converts a nested object or list the first time a rule touches it and keeps the result. A
 * decision pays for the fields its rules read, once, whatever the size of the request's `context`.
 */
import { type CelInput, celList, celMap } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';

/** A JSON-like value as requests and stores produce it. `bigint` is a CEL int, `number` a double. */
export type FactValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | readonly FactValue[]
  | { readonly [key: string]: FactValue | undefined };

export type FactObject = { readonly [key: string]: FactValue | undefined };

/** What a decision knows, in plain JSON; the names are the CEL variables policies use. */
export interface DecisionFacts {
  /** `agent`: id, tier, trust_level, metadata. */
  readonly agent: FactObject;
  /** `principal`: the delegating human or agent chain. */
  readonly principal?: FactObject;
  /** `action`: the action name, such as `sandbox.exec`. */
  readonly action: string;
  /** `resource`: type, id, attributes. */
  readonly resource?: FactObject;
  /** `context`: arbitrary JSON from the request. */
  readonly context?: FactObject;
  /** `usage`: live figures; every figure is a CEL double whatever its JS type. */
  readonly usage?: { readonly [figure: string]: number | bigint };
  /** `risk`: score (int or double) and factors. */
  readonly risk?: FactObject;
  /** `now`: the decision time, from the injected clock. */
  readonly now: Date;
}

declare const activationBrand: unique symbol;

/** Variables bound for evaluation; build with {@link createActivation}, reuse across rules. */
export type CelActivation = Readonly<Record<string, CelInput>> & { readonly [activationBrand]: true };

const EMPTY: FactObject = {};

/**
 * Wraps a decision's facts for evaluation. Cheap: nothing is copied, and a variable is wrapped
 * only when a rule first reads it; build it once per decision and hand it to every rule.
 *
 * @example
 * const activation = createActivation({
 *   agent: { id: 'a1', tier: 'pro', trust_level: 'verified', metadata: {} },
 *   action: 'sandbox.exec',
 *   context: { estimated_cost: 12.5 },
 *   usage: { tokens_today: 1200n },
 *   risk: { score: 40, factors: [] },
 *   now: clock.now(),
 * });
 * evaluate(program, activation);
 */
export function createActivation(facts: DecisionFacts): CelActivation {
  return new FactsActivation(facts) as unknown as CelActivation;
}

/**
 * The evaluator reads variables as properties (`activation[name]`), so getters let a decision
 * skip wrapping the variables no rule reads (often `principal`, `resource`, `now`).
 */
class FactsActivation {
  readonly #facts: DecisionFacts;
  #agent: CelInput | undefined;
  #principal: CelInput | undefined;
  #resource: CelInput | undefined;
  #context: CelInput | undefined;
  #usage: CelInput | undefined;
  #risk: CelInput | undefined;
  #now: CelInput | undefined;

  constructor(facts: DecisionFacts) {
    this.#facts = facts;
  }

  get agent(): CelInput {
    this.#agent ??= objectValue(this.#facts.agent);
    return this.#agent;
  }

  get principal(): CelInput {
    this.#principal ??= objectValue(this.#facts.principal ?? EMPTY);
    return this.#principal;
  }

  get action(): CelInput {
    return this.#facts.action;
  }

  get resource(): CelInput {
    this.#resource ??= objectValue(this.#facts.resource ?? EMPTY);
    return this.#resource;
  }

  get context(): CelInput {
    this.#context ??= objectValue(this.#facts.context ?? EMPTY);
    return this.#context;
  }

  get usage(): CelInput {
    if (this.#usage === undefined) {
      const figures = new Map<string, number>();
      for (const [figure, v] of Object.entries(this.#facts.usage ?? {})) figures.set(figure, Number(v));
      this.#usage = celMap(figures);
    }
    return this.#usage;
  }

  get risk(): CelInput {
    this.#risk ??= objectValue(this.#facts.risk ?? EMPTY);
    return this.#risk;
  }

  get now(): CelInput {
    this.#now ??= timestampFromDate(this.#facts.now);
    return this.#now;
  }
}

function objectValue(o: FactObject): CelInput {
  return celMap(new JsonObjectView(o));
}

function toCelInput(v: FactValue): CelInput {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return celList(v.map(toCelInput));
  if (v instanceof Date) return timestampFromDate(v);
  return objectValue(v as FactObject);
}

/**
 * A read-only Map over a plain object, converting values on first read and remembering them.
 * `celMap` accepts any ReadonlyMap, and the evaluator returns already-converted CEL values as is,
 * so a nested object is wrapped once per decision instead of once per access.
 */
class JsonObjectView implements ReadonlyMap<string, CelInput> {
  readonly #source: FactObject;
  // Only nested objects and lists need converting (and remembering); scalars pass through.
  #converted: Map<string, CelInput> | undefined;

  constructor(source: FactObject) {
    this.#source = source;
  }

  get size(): number {
    let n = 0;
    for (const k in this.#source) if (Object.hasOwn(this.#source, k) && this.#source[k] !== undefined) n++;
    return n;
  }

  get(key: string): CelInput | undefined {
    // Own properties only: `toString` or `__proto__` must not be readable as policy data.
    if (typeof key !== 'string' || !Object.hasOwn(this.#source, key)) return undefined;
    const raw = this.#source[key];
    if (typeof raw !== 'object' || raw === null) return raw;
    let value = this.#converted?.get(key);
    if (value === undefined) {
      value = toCelInput(raw);
      this.#converted ??= new Map();
      this.#converted.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  forEach(
    callback: (value: CelInput, key: string, map: ReadonlyMap<string, CelInput>) => void,
    thisArg?: unknown,
  ): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  *keys(): MapIterator<string> {
    for (const k of Object.keys(this.#source)) if (this.#source[k] !== undefined) yield k;
  }

  *values(): MapIterator<CelInput> {
    for (const k of this.keys()) yield this.get(k)!;
  }

  *entries(): MapIterator<[string, CelInput]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }

  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
}
