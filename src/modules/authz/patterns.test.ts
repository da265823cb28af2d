import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileActionPatterns,
  compileResourcePatterns,
  isSubset,
  isValidAction,
  isValidResource,
  PatternSyntaxError,
  patternListFromCaveat,
} from './patterns.js';

// An independent reading of the documented semantics, segment by segment, with no RegExp: the compiled
// matchers must agree with it.
function referenceActionMatch(pattern: string, name: string): boolean {
  const n = name.split('.');
  if (pattern === '*') return n.every((s) => /^[A-Za-z0-9_-]+$/.test(s));
  const p = pattern.split('.');
  if (!n.every((s) => /^[A-Za-z0-9_-]+$/.test(s))) return false;
  if (p[p.length - 1] === '*') {
    const fixed = p.slice(0, -1);
    return n.length > fixed.length && fixed.every((s, i) => s === n[i]);
  }
  return p.length === n.length && p.every((s, i) => s === n[i]);
}

function referenceSegmentMatch(pattern: string, seg: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return pattern === seg;
  const pre = pattern.slice(0, star);
  const suf = pattern.slice(star + 1);
  return seg.length >= pre.length + suf.length + 1 && seg.startsWith(pre) && seg.endsWith(suf);
}

function referenceResourceMatch(pattern: string, name: string): boolean {
  const n = name.split('/');
  if (!n.every((s) => s.length > 0 && !/[*,/\s]/.test(s))) return false;
  const p = pattern.split('/');
  if (p[p.length - 1] === '**') {
    const fixed = p.slice(0, -1);
    return n.length > fixed.length && fixed.every((s, i) => referenceSegmentMatch(s, n[i]!));
  }
  return p.length === n.length && p.every((s, i) => referenceSegmentMatch(s, n[i]!));
}

// Small alphabets so that random patterns and names overlap often.
const actionSegment = fc.constantFrom('a', 'b', 'ab', 'c_1');
const actionName = fc.array(actionSegment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
const actionPattern = fc.oneof(
  fc.constant('*'),
  actionName,
  actionName.map((n) => `${n}.*`),
);

const resourceLiteral = fc.constantFrom('x', 'y', 'xy', 'yx', 'x-1', 'repo:x');
const resourceName = fc.array(resourceLiteral, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const resourcePatternSegment = fc.oneof(
  resourceLiteral,
  fc
    .tuple(fc.constantFrom('', 'x', 'y', 'repo:'), fc.constantFrom('', 'x', 'y', '-1'))
    .map(([a, b]) => `${a}*${b}`),
);
const resourcePattern = fc.oneof(
  fc.constant('**'),
  fc.array(resourcePatternSegment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
  fc.array(resourcePatternSegment, { minLength: 1, maxLength: 3 }).map((s) => `${s.join('/')}/**`),
);

/** Concrete names a pattern matches, built by filling its wildcards. */
function actionInstance(pattern: string): fc.Arbitrary<string> {
  if (pattern === '*') return actionName;
  if (!pattern.endsWith('.*')) return fc.constant(pattern);
  return fc
    .array(actionSegment, { minLength: 1, maxLength: 2 })
    .map((s) => `${pattern.slice(0, -1)}${s.join('.')}`);
}

function resourceInstance(pattern: string): fc.Arbitrary<string> {
  const parts = pattern.split('/');
  const tail = parts[parts.length - 1] === '**';
  if (tail) parts.pop();
  const fill = parts.map((p) =>
    p.includes('*') ? fc.constantFrom('x', 'y', 'q', 'xy').map((mid) => p.replace('*', mid)) : fc.constant(p),
  );
  const extra = tail ? fc.array(resourceLiteral, { minLength: 1, maxLength: 2 }) : fc.constant<string[]>([]);
  return fc.tuple(fc.tuple(...fill), extra).map(([fixed, more]) => [...fixed, ...more].join('/'));
}

describe('action patterns', () => {
  it.each([
    ['llm.call', 'llm.call', true],
    ['llm.call', 'llm.call.x', false],
    ['llm.call', 'llm', false],
    ['sandbox.*', 'sandbox.exec', true],
    ['sandbox.*', 'sandbox.fs.read', true],
    ['sandbox.*', 'sandbox', false],
    ['sandbox.*', 'sandboxes.exec', false],
    ['sandbox.*', 'sandbox..exec', false],
    ['*', 'anything.at.all', true],
    ['*', 'x', true],
    ['*', '', false],
    ['*', 'bad action', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compileActionPatterns([pattern]).matches(name)).toBe(expected);
  });

  it.each(['sandbox.*.read', 'sand*', '*.call', 'a..b', '.a', 'a.', 'a b', 'a,b', '', '**', 'a.**'])(
    'refuses the pattern %j',
    (pattern) => {
      expect(() => compileActionPatterns([pattern])).toThrow(PatternSyntaxError);
    },
  );

  it('matches like the reference semantics', () => {
    fc.assert(
      fc.property(fc.array(actionPattern, { minLength: 1, maxLength: 3 }), actionName, (patterns, name) => {
        const expected = patterns.some((p) => referenceActionMatch(p, name));
        expect(compileActionPatterns(patterns).matches(name)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('resource patterns', () => {
  it.each([
    ['repo:acme/widgets', 'repo:acme/widgets', true],
    ['repo:acme/*', 'repo:acme/widgets', true],
    ['repo:acme/*', 'repo:acme/widgets/src', false],
    ['repo:acme/*', 'repo:acme', false],
    ['repo:acme/**', 'repo:acme/widgets/src/main.ts', true],
    ['repo:acme/**', 'repo:acme', false],
    ['repo:acme/web-*', 'repo:acme/web-api', true],
    ['repo:acme/web-*', 'repo:acme/web-', false],
    ['repo:acme/*-prod', 'repo:acme/db-prod', true],
    ['repo:*/widgets', 'repo:acme/widgets', true],
    ['**', 'anything/at/all', true],
    ['*', 'one-segment', true],
    ['*', 'two/segments', false],
    ['repo:acme/*', 'repo:acme//x', false],
    ['repo:acme/**', 'repo:acme/x/', false],
    ['repo:acme/*', 'repo:acme/a b', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compileResourcePatterns([pattern]).matches(name)).toBe(expected);
  });

  it.each(['repo:acme/**/x', 'a/b**', 'a/*x*', '/a', 'a/', 'a//b', 'a b', 'a,b', '', '***'])(
    'refuses the pattern %j',
    (pattern) => {
      expect(() => compileResourcePatterns([pattern])).toThrow(PatternSyntaxError);
    },
  );

  it('treats regular-expression characters literally', () => {
    const list = compileResourcePatterns(['file:a.b/(x)+[y]']);
    expect(list.matches('file:a.b/(x)+[y]')).toBe(true);
    expect(list.matches('file:aXb/(x)+[y]')).toBe(false);
  });

  it('matches like the reference semantics', () => {
    fc.assert(
      fc.property(
        fc.array(resourcePattern, { minLength: 1, maxLength: 3 }),
        resourceName,
        (patterns, name) => {
          const expected = patterns.some((p) => referenceResourceMatch(p, name));
          expect(compileResourcePatterns(patterns).matches(name)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('pattern lists', () => {
  it('bounds the list and the pattern length', () => {
    expect(() => compileActionPatterns([])).toThrow(PatternSyntaxError);
    expect(() => compileActionPatterns(Array.from({ length: 33 }, (_, i) => `a${i}`))).toThrow(
      PatternSyntaxError,
    );
    expect(() => compileResourcePatterns(['x'.repeat(257)])).toThrow(PatternSyntaxError);
    expect(compileResourcePatterns(['**']).matches('x'.repeat(257))).toBe(false);
  });

  it('compiles a caveat value once and reuses it', () => {
    const a = patternListFromCaveat('action', 'sandbox.*,llm.call');
    expect(a.patterns).toEqual(['sandbox.*', 'llm.call']);
    expect(patternListFromCaveat('action', 'sandbox.*,llm.call')).toBe(a);
    expect(() => patternListFromCaveat('action', 'sandbox.*,')).toThrow(PatternSyntaxError);
  });

  it('validates names', () => {
    expect(isValidAction('llm.call')).toBe(true);
    expect(isValidAction('llm.*')).toBe(false);
    expect(isValidResource('repo:acme/x')).toBe(true);
    expect(isValidResource('repo:acme/*')).toBe(false);
  });
});

describe('isSubset', () => {
  const A = compileActionPatterns;
  const R = compileResourcePatterns;

  it.each([
    [['llm.call'], ['llm.call'], true],
    [['llm.call'], ['llm.*'], true],
    [['llm.call'], ['*'], true],
    [['sandbox.fs.*'], ['sandbox.*'], true],
    [['sandbox.*'], ['sandbox.*'], true],
    [['sandbox.*'], ['sandbox.fs.*'], false],
    [['sandbox.*'], ['sandbox.exec'], false],
    [['*'], ['sandbox.*'], false],
    [['llm.call', 'sandbox.exec'], ['llm.*', 'sandbox.*'], true],
    [['llm.call', 'net.fetch'], ['llm.*', 'sandbox.*'], false],
    [['sandbox'], ['sandbox.*'], false],
  ])('actions %j ⊆ %j: %s', (a, b, expected) => {
    expect(isSubset(A(a), A(b))).toBe(expected);
  });

  it.each([
    [['repo:acme/widgets'], ['repo:acme/*'], true],
    [['repo:acme/web-*'], ['repo:acme/*'], true],
    [['repo:acme/web-api-*'], ['repo:acme/web-*'], true],
    [['repo:acme/*'], ['repo:acme/web-*'], false],
    [['repo:acme/*'], ['repo:acme/**'], true],
    [['repo:acme/x/**'], ['repo:acme/**'], true],
    [['repo:acme/**'], ['repo:acme/*'], false],
    [['repo:acme/**'], ['repo:acme/**'], true],
    [['repo:acme/**'], ['**'], true],
    [['**'], ['repo:acme/**'], false],
    [['repo:acme/*/src'], ['repo:acme/**'], true],
    [['repo:acme'], ['repo:acme/**'], false],
    [['repo:*/x'], ['repo:acme/x'], false],
  ])('resources %j ⊆ %j: %s', (a, b, expected) => {
    expect(isSubset(R(a), R(b))).toBe(expected);
  });

  it('refuses to compare action and resource lists', () => {
    expect(() => isSubset(A(['a']), R(['a']))).toThrow(PatternSyntaxError);
  });

  it('is sound for actions: a subset never matches a name the superset does not', () => {
    fc.assert(
      fc.property(
        fc.array(actionPattern, { minLength: 1, maxLength: 3 }),
        fc.array(actionPattern, { minLength: 1, maxLength: 3 }),
        fc.array(actionName, { maxLength: 10 }),
        fc.nat(),
        (a, b, randomNames, pick) => {
          fc.pre(isSubset(A(a), A(b)));
          const instances = fc.sample(actionInstance(a[pick % a.length]!), { numRuns: 10, seed: pick });
          const listA = A(a);
          const listB = A(b);
          for (const name of [...instances, ...randomNames]) {
            if (listA.matches(name)) expect(listB.matches(name)).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('is sound for resources: a subset never matches a name the superset does not', () => {
    fc.assert(
      fc.property(
        fc.array(resourcePattern, { minLength: 1, maxLength: 3 }),
        fc.array(resourcePattern, { minLength: 1, maxLength: 3 }),
        fc.array(resourceName, { maxLength: 10 }),
        fc.nat(),
        (a, b, randomNames, pick) => {
          fc.pre(isSubset(R(a), R(b)));
          const instances = fc.sample(resourceInstance(a[pick % a.length]!), { numRuns: 10, seed: pick });
          const listA = R(a);
          const listB = R(b);
          for (const name of [...instances, ...randomNames]) {
            if (listA.matches(name)) expect(listB.matches(name)).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('the instance generators only make names their pattern matches (so the soundness tests bite)', () => {
    fc.assert(
      fc.property(
        actionPattern.chain((p) => fc.tuple(fc.constant(p), actionInstance(p))),
        ([p, name]) => A([p]).matches(name),
      ),
    );
    fc.assert(
      fc.property(
        resourcePattern.chain((p) => fc.tuple(fc.constant(p), resourceInstance(p))),
        ([p, name]) => R([p]).matches(name),
      ),
    );
  });

  it('finds enough subsets for the soundness tests to run', () => {
    const pairs = fc.sample(fc.tuple(resourcePattern, resourcePattern), { numRuns: 2000, seed: 7 });
    const subsets = pairs.filter(([a, b]) => a !== b && isSubset(R([a]), R([b])));
    expect(subsets.length).toBeGreaterThan(50);
  });
});
