import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CelProgram,
  type CompileError,
  compileExpression,
  createActivation,
  createCelEnvironment,
  type DecisionFacts,
  evaluate,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  positionAt,
} from './compile.js';

const env = createCelEnvironment();

function compiled(source: string): CelProgram {
  const r = compileExpression(env, source);
  if (!r.ok) throw new Error(`expected ${source} to compile: ${r.error.message}`);
  return r.program;
}

function compileError(source: string): CompileError {
  const r = compileExpression(env, source);
  if (r.ok) throw new Error(`expected ${source} not to compile`);
  return r.error;
}

const baseFacts: DecisionFacts = {
  agent: {
    id: 'agent-1',
    tier: 'pro',
    trust_level: 'verified',
    metadata: { team: 'payments', labels: ['ci'] },
  },
  principal: {
    id: 'user-7',
    chain: [
      { kind: 'human', id: 'user-7', verified: true },
      { kind: 'agent', id: 'agent-0', verified: false },
    ],
  },
  action: 'sandbox.exec',
  resource: { type: 'database', id: 'db-1', attributes: { env: 'prod', tags: ['pii'] } },
  context: { estimated_cost: 12.5, region: 'eu-west-1', retries: 2 },
  usage: { tokens_today: 120_000n, spend_today: 31.75 },
  risk: { score: 40, factors: ['new_agent'] },
  now: new Date('2026-03-02T04:30:00Z'),
};

function run(source: string, facts: DecisionFacts = baseFacts) {
  return evaluate(compiled(source), createActivation(facts));
}

describe('compileExpression', () => {
  it('reports a syntax error with its line, column and offset', () => {
    const source = "agent.tier == 'pro' &&\n  action.startsWith('x'))";
    expect(compileError(source)).toMatchObject({ line: 2, column: 25, offset: 47 });
    expect(compileError(source).message).toMatch(/^syntax error: /);
  });

  it('rejects an unknown variable where it is written', () => {
    const e = compileError("risk.score > 70 && agnet.tier == 'free'");
    expect(e).toEqual({ message: "undeclared reference to 'agnet'", line: 1, column: 20, offset: 19 });
  });

  it('rejects an unknown function or method, and a wrong number of arguments', () => {
    expect(compileError("action.startWith('sandbox.')").message).toBe(
      "undeclared reference to function 'startWith'",
    );
    expect(compileError("action.startsWith('a', 'b')").message).toMatch(
      /'startsWith' is not a method taking 2/,
    );
    expect(compileError('math.greatest(1, 2) > 1').message).toMatch(/undeclared reference to function/);
  });

  it('rejects type errors it can see, with the operator position', () => {
    expect(compileError('action > 5')).toMatchObject({
      message: "found no matching overload for '>' applied to '(string, int)'",
      column: 8,
    });
    expect(compileError('action > 5').offset).toBe(7);
    expect(compileError('action == 5').message).toBe('comparing string with int is always false');
    // usage figures are doubles: mixing an int literal into arithmetic is caught when saved.
    expect(compileError('usage.tokens_today + 1 > 10.0').message).toMatch(
      /'\+' applied to '\(double, int\)'/,
    );
    expect(compileError("now > '2026-01-01'").message).toMatch(/'>' applied to/);
    expect(compileError('context[1] == 2').message).toMatch(/cannot index map\(string, dyn\)/);
    expect(compileError("agent.tier == 'pro' && 'yes'").message).toBe(
      'operator && needs bool operands, got string',
    );
  });

  it('rejects an expression that cannot be a bool', () => {
    expect(compileError('action').message).toBe('a condition must be bool, but this expression is string');
    expect(compileError('risk.score + 1').message).toMatch(/must be bool, but this expression is int/);
    expect(compileError('[1, 2].map(x, x * 2)').message).toMatch(/must be bool/);
  });

  it('rejects constants that would fail on every request', () => {
    expect(compileError("action.matches('[')")).toMatchObject({ column: 16 });
    expect(compileError("action.matches('[')").message).toMatch(/^invalid regular expression/);
    expect(compileError("{'a': 1, 'a': 2}['a'] == 1").message).toBe('duplicate map key a');
    expect(compileError('{0: 1, 0u: 2}[0] == 1').message).toBe('duplicate map key 0');
  });

  it('rejects protobuf message construction, which policies have no use for', () => {
    expect(compileError('TestAllTypes{}.x == 1').message).toMatch(/message construction/);
  });

  it('bounds the source length and the nesting depth', () => {
    expect(compileError(`${'true || '.repeat(MAX_EXPRESSION_LENGTH / 8)}true`).message).toMatch(
      /the limit is/,
    );
    const lists = (n: number) => `size(${'['.repeat(n)}1${']'.repeat(n)}) > 0`;
    expect(compileExpression(env, lists(MAX_EXPRESSION_DEPTH - 5)).ok).toBe(true);
    expect(compileError(lists(MAX_EXPRESSION_DEPTH + 5)).message).toMatch(/nested more than 64 levels/);
    // Far deeper than any parser stack allows: refused, never thrown.
    for (const source of [lists(4000), `${'('.repeat(4000)}true${')'.repeat(4000)}`]) {
      expect(compileError(source).message).toBe('expression is nested too deeply to parse');
    }
  });

  it('accepts the standard library, the strings extension and the macros', () => {
    for (const source of [
      "action.startsWith('sandbox.') && action.endsWith('.exec') && action.contains('box')",
      "action.matches('^sandbox\\\\.[a-z]+$')",
      "action.lowerAscii().split('.')[0] == 'sandbox'",
      "agent.metadata.labels.exists(l, l == 'ci') && agent.metadata.labels.all(l, l.size() < 64)",
      "principal.chain.exists_one(p, p.kind == 'human')",
      'size(resource.attributes.tags.filter(t, t.startsWith("p"))) > 0',
      "has(context.region) ? context.region == 'eu-west-1' : false",
      "now - duration('24h') < now && now.getHours('Europe/Paris') >= 0",
      "timestamp('2026-01-01T00:00:00Z') < now",
      'type(risk.score) == double || type(risk.score) == int',
      'int(usage.tokens_today) > 0 && usage.spend_today >= 0.0',
    ]) {
      expect(compileExpression(env, source), source).toMatchObject({ ok: true });
    }
  });
});

describe('evaluate', () => {
  it('evaluates the rule from the design with different facts', () => {
    const rule = compiled(
      "agent.trust_level == 'untrusted' || (action.startsWith('sandbox.') && context.estimated_cost > 50.0) || risk.score > 70",
    );
    const cases: [Partial<DecisionFacts>, boolean][] = [
      [{}, false],
      [{ agent: { ...baseFacts.agent, trust_level: 'untrusted' } }, true],
      [{ context: { estimated_cost: 50.01 } }, true],
      [{ context: { estimated_cost: 50.0 } }, false],
      [{ action: 'email.send', context: { estimated_cost: 500 } }, false],
      [{ risk: { score: 71n, factors: [] } }, true],
      [{ risk: { score: 70.5, factors: [] } }, true],
      [{ risk: { score: 70, factors: [] } }, false],
    ];
    for (const [change, expected] of cases) {
      expect(
        evaluate(rule, createActivation({ ...baseFacts, ...change })),
        JSON.stringify(change, jsonBigint),
      ).toEqual({
        ok: true,
        value: expected,
      });
    }
  });

  it('evaluates realistic rules over nested JSON, lists, time and usage', () => {
    expect(run("principal.chain.exists(p, p.kind == 'human' && p.verified)")).toEqual({
      ok: true,
      value: true,
    });
    expect(run('principal.chain.all(p, p.verified)')).toEqual({ ok: true, value: false });
    expect(
      run(
        "resource.type == 'database' && resource.attributes.env == 'prod' && 'pii' in resource.attributes.tags",
      ),
    ).toEqual({
      ok: true,
      value: true,
    });
    expect(run("now.getHours('UTC') < 6 && now.getDayOfWeek('UTC') == 1")).toEqual({ ok: true, value: true });
    expect(run("now.getHours('America/New_York') < 6")).toEqual({ ok: true, value: false });
    expect(run('usage.tokens_today + 5000.0 > 100000.0 && usage.spend_today < 50.0')).toEqual({
      ok: true,
      value: true,
    });
    expect(run('has(agent.metadata.team) && !has(agent.metadata.owner)')).toEqual({ ok: true, value: true });
    expect(run("agent.metadata == {'team': 'payments', 'labels': ['ci']}")).toEqual({
      ok: true,
      value: true,
    });
    expect(run('context.retries == 2 && context.retries < 3u')).toEqual({ ok: true, value: true });
  });

  it('reports an evaluation error instead of throwing', () => {
    const missing = run('context.missing_key > 1');
    expect(missing).toMatchObject({ ok: false, error: { message: 'field not found: missing_key' } });
    expect(missing.ok === false && missing.error.position).toEqual({ line: 1, column: 8, offset: 7 });
    expect(run('int(context.retries) / 0 == 1')).toMatchObject({
      ok: false,
      error: { message: 'int divide by zero' },
    });
    expect(run('int(context.retries) * 9223372036854775807 > 0')).toMatchObject({ ok: false });
    expect(run('context.region + 1 == 2')).toMatchObject({ ok: false });
    expect(run('action.matches(context.pattern)', { ...baseFacts, context: { pattern: '(' } })).toMatchObject(
      {
        ok: false,
        error: { message: /missing closing/ },
      },
    );
    expect(run('timestamp(context.region) > now')).toMatchObject({ ok: false });
  });

  it('absorbs an error the other side of || or && decides, as CEL specifies', () => {
    expect(run('context.missing_key > 1 || true')).toEqual({ ok: true, value: true });
    expect(run('context.missing_key > 1 && false')).toEqual({ ok: true, value: false });
    expect(run('context.missing_key > 1 || false')).toMatchObject({ ok: false });
  });

  it('refuses a non-bool result that only shows at run time', () => {
    expect(run('risk.score')).toEqual({
      ok: false,
      error: { message: 'a condition must evaluate to bool, got double' },
    });
    expect(run('context.region')).toMatchObject({ ok: false, error: { message: /got string/ } });
  });

  it('reads own JSON properties only', () => {
    expect(run('has(context.toString) || has(context.constructor)')).toEqual({ ok: true, value: false });
    expect(run("'toString' in context")).toEqual({ ok: true, value: false });
    expect(run('size(context) == 3')).toEqual({ ok: true, value: true });
  });

  it('reuses one activation across rules and decisions without changing the facts', () => {
    const snapshot = JSON.stringify(baseFacts, jsonBigint);
    const activation = createActivation(baseFacts);
    const rules = [
      "agent.metadata.team == 'payments'",
      "agent.metadata.labels[0] == 'ci'",
      "principal.chain[1].kind == 'agent'",
      'size(agent.metadata) == 2',
    ].map(compiled);
    for (let round = 0; round < 3; round++) {
      for (const rule of rules) expect(evaluate(rule, activation)).toEqual({ ok: true, value: true });
    }
    expect(JSON.stringify(baseFacts, jsonBigint)).toBe(snapshot);
  });

  it('agrees with JS on comparisons of random ints and doubles', () => {
    const ops = ['<', '<=', '>', '>=', '==', '!='] as const;
    const programs = new Map(ops.map((op) => [op, compiled(`context.a ${op} context.b`)]));
    const js: Record<(typeof ops)[number], (a: number, b: number) => boolean> = {
      '<': (a, b) => a < b,
      '<=': (a, b) => a <= b,
      '>': (a, b) => a > b,
      '>=': (a, b) => a >= b,
      '==': (a, b) => a === b,
      '!=': (a, b) => a !== b,
    };
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    const smallInt = fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n });
    fc.assert(
      fc.property(
        fc.constantFrom(...ops),
        fc.oneof(
          fc.tuple(int64, int64),
          // Mixed int/double: CEL compares numerically across types; keep ints exact as doubles.
          fc.tuple(smallInt, fc.double({ noNaN: true, min: -(2 ** 41), max: 2 ** 41 })),
          fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true })),
        ),
        (op, [a, b]) => {
          const r = evaluate(programs.get(op)!, createActivation({ ...baseFacts, context: { a, b } }));
          const expected =
            typeof a === 'bigint' && typeof b === 'bigint'
              ? js[op](Number(a - b), 0)
              : js[op](Number(a), Number(b));
          expect(r).toEqual({ ok: true, value: expected });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('agrees with JS on string prefix, suffix and containment', () => {
    const programs = [
      [compiled('context.s.startsWith(context.t)'), (s: string, t: string) => s.startsWith(t)],
      [compiled('context.s.endsWith(context.t)'), (s: string, t: string) => s.endsWith(t)],
      [compiled('context.s.contains(context.t)'), (s: string, t: string) => s.includes(t)],
    ] as const;
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(2), (s, t, i) => {
        const [program, js] = programs[i]!;
        const prefixed = i === 0 ? t + s : i === 1 ? s + t : s;
        expect(evaluate(program, createActivation({ ...baseFacts, context: { s: prefixed, t } }))).toEqual({
          ok: true,
          value: js(prefixed, t),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, whatever JSON the request carries', () => {
    const rules = [
      "context.a > 1 || context.b.c == 'x'",
      'context.a.exists(x, x > 0)',
      "size(context) > 0 && 'a' in context",
      'context.a == context.b',
      'int(context.a) + 1 > 0',
    ].map(compiled);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.jsonValue()), (context) => {
        const activation = createActivation({ ...baseFacts, context: context as DecisionFacts['context'] });
        for (const rule of rules) {
          const r = evaluate(rule, activation);
          expect(typeof r.ok).toBe('boolean');
          if (r.ok) expect(typeof r.value).toBe('boolean');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('positionAt', () => {
  it('counts lines and columns from 1', () => {
    expect(positionAt('a &&\n  b', 7)).toEqual({ line: 2, column: 3, offset: 7 });
    expect(positionAt('abc', 0)).toEqual({ line: 1, column: 1, offset: 0 });
    expect(positionAt('abc', 99)).toEqual({ line: 1, column: 4, offset: 3 });
  });
});

function jsonBigint(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

describe('what a condition can observe (the key of reusable decisions)', () => {
  it.each([
    ["context.model in ['a', 'b']", ['context'], ['context.model']],
    [
      "agent.trust_level == 'untrusted' && has(agent.metadata.team)",
      ['agent'],
      ['agent.metadata.team', 'agent.trust_level'],
    ],
    [
      "context.items.exists(x, x.cost > 1.0) && action == 'llm.call'",
      ['action', 'context'],
      ['action', 'context.items'],
    ],
    // The whole variable when it is used other than through fields: a map index, size, a method.
    ["context['model'] == 'a'", ['context'], ['context']],
    ['size(resource) > 1 || risk.score > 50', ['resource', 'risk'], ['resource', 'risk.score']],
    ["now.getHours() > 8 && context.model.startsWith('gpt')", ['context', 'now'], ['context.model', 'now']],
    // A comprehension variable named like a field is not a path of the facts.
    ['[1, 2].all(agent, agent > 0)', [], []],
  ])('%s', (source, variables, paths) => {
    const p = compiled(source);
    expect(p.variables).toEqual(variables);
    expect(p.paths).toEqual(paths);
  });
});
