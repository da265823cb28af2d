import { describe, expect, it } from 'vitest';
import { createCelEnvironment } from './cel/compile.js';
import { compileRules, runTests } from './engine.js';
import { BUILTIN_TEMPLATES, celLiteral, renderTemplate } from './templates-catalogue.js';

const env = createCelEnvironment();

describe('built-in templates', () => {
  it('holds the catalogue the issue names', () => {
    expect(BUILTIN_TEMPLATES.map((t) => t.name).sort()).toEqual([
      'budget-guard',
      'business-hours-only',
      'delegation-depth-limit',
      'egress-allowlist',
      'high-cost-sandbox-approval',
      'model-allowlist',
      'pii-in-prompt-deny',
      'untrusted-agent-approval',
    ]);
  });

  it.each(BUILTIN_TEMPLATES.map((t) => [t.name, t] as const))(
    '%s compiles with its defaults and passes its own tests',
    (_n, t) => {
      const rendered = renderTemplate(t, {});
      if (!rendered.ok) throw new Error(JSON.stringify(rendered.errors));
      const compiled = compileRules(env, rendered.rules);
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
      expect(t.tests.length).toBeGreaterThanOrEqual(2);
      const results = runTests(compiled.policy, t.tests, new Date('2026-03-02T10:00:00Z'));
      expect(results.filter((r) => !r.passed)).toEqual([]);
    },
  );

  it('renders parameters as typed literals, so a value cannot inject an expression', () => {
    const t = BUILTIN_TEMPLATES.find((x) => x.name === 'model-allowlist')!;
    const r = renderTemplate(t, { models: ["x'] || true || ['"] });
    if (!r.ok) throw new Error('expected a rendering');
    const compiled = compileRules(env, r.rules);
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
    const results = runTests(
      compiled.policy,
      [
        {
          name: 'other model',
          input: { agent: { id: 'a' }, action: 'llm.call', context: { model: 'other' } },
          expect: { decision: 'deny' },
        },
      ],
      new Date(),
    );
    expect(results[0]!.passed).toBe(true);
  });

  it('refuses unknown, missing and mistyped parameters', () => {
    const t = BUILTIN_TEMPLATES.find((x) => x.name === 'high-cost-sandbox-approval')!;
    const r = renderTemplate(t, { max_cost: 'lots', extra: 1 });
    expect(r).toEqual({
      ok: false,
      errors: [
        { field: 'body.parameters.extra', message: 'is not a parameter of this template' },
        { field: 'body.parameters.max_cost', message: 'must be a finite number' },
      ],
    });
    expect(celLiteral('integer', 2.5)).toEqual({ ok: false, message: 'must be an integer' });
    expect(celLiteral('number', 20)).toEqual({ ok: true, text: '20.0' });
  });
});
