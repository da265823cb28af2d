import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCase, scoreLabelledSet } from './accuracy.js';
import { PII_KINDS, type PiiKind } from './kinds.js';
import { LABELLED_CASES } from './labelled-set.js';
import { createRedactor, DEFAULT_VALUE_LIMITS, TRUNCATED } from './redact.js';

/**
 * Thresholds on the labelled set, per kind. The set was written alongside the detectors, so these
 * guard against regressions rather than estimate real-world accuracy (bench/results/pii.md has
 * the held-out figures).
 */
const MIN_PRECISION = 0.95;
const MIN_RECALL = 0.9;

const redactor = createRedactor();
const score = scoreLabelledSet(redactor, LABELLED_CASES);

describe('labelled set', () => {
  it('has at least 20 true positives and 10 near misses for every kind', () => {
    for (const kind of PII_KINDS) {
      const cases = LABELLED_CASES.filter((c) => c.kind === kind);
      expect(cases.filter((c) => c.positive).length, kind).toBeGreaterThanOrEqual(20);
      expect(cases.filter((c) => !c.positive).length, kind).toBeGreaterThanOrEqual(10);
    }
  });

  it.each(PII_KINDS)(`%s: precision ≥ ${MIN_PRECISION} and recall ≥ ${MIN_RECALL}`, (kind) => {
    const k = score.byKind.find((s) => s.kind === kind);
    if (k === undefined) throw new Error(`no score for ${kind}`);
    const report = `\n  missed: ${JSON.stringify(k.missed, null, 2)}\n  wrongly flagged: ${JSON.stringify(k.wronglyFlagged, null, 2)}`;
    expect(k.precision, `precision ${k.precision.toFixed(3)}${report}`).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(k.recall, `recall ${k.recall.toFixed(3)}${report}`).toBeGreaterThanOrEqual(MIN_RECALL);
  });

  it('never lets the sensitive text of a positive survive, not even an 8-character piece of it', () => {
    const survivors: string[] = [];
    for (const c of LABELLED_CASES) {
      if (!c.positive || c.secret === undefined) continue;
      const { output } = runCase(redactor, c);
      const elsewhere = c.text.replace(c.secret, '\u0000');
      const n = Math.min(8, c.secret.length);
      for (let i = 0; i + n <= c.secret.length; i++) {
        const piece = c.secret.slice(i, i + n);
        if (output.includes(piece) && !elsewhere.includes(piece)) {
          survivors.push(`${c.kind}: ${JSON.stringify(piece)} in ${JSON.stringify(output)}`);
          break;
        }
      }
    }
    expect(survivors).toEqual([]);
  });

  it('leaves near misses byte-for-byte unchanged unless they contain another labelled kind', () => {
    for (const c of LABELLED_CASES) {
      if (c.positive || c.also !== undefined || c.kind === 'SECRET_FIELD') continue;
      expect(redactor.redactString(c.text).text, c.text).toBe(c.text);
    }
  });
});

describe('redactString', () => {
  it('replaces each finding with [REDACTED:KIND] and counts hits per kind', () => {
    const r = redactor.redactString('mail ana@example.org or bo@example.net, card 4000 0012 3456 7899');
    expect(r.text).toBe('mail [REDACTED:EMAIL] or [REDACTED:EMAIL], card [REDACTED:CARD]');
    expect(r.hits).toEqual([
      { kind: 'EMAIL', count: 2 },
      { kind: 'CARD', count: 1 },
    ]);
  });

  it('returns the very same string instance, and no hits, when nothing is found', () => {
    const text = `2025-03-14T09:26:53.589Z INFO request 0195a3c2-7d4e-7f10-9b2a-5c6d7e8f9a0b took 842 ms; ${'x'.repeat(5)}`;
    const r = redactor.redactString(text);
    expect(r.text).toBe(text);
    expect(Object.is(r.text, text)).toBe(true);
    expect(r.hits).toHaveLength(0);
  });

  it('merges overlapping findings into one replacement named after the longest', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHByb3Zlci0xMiIsImV4cCI6MTczNTAwMDAwMH0.1s7_5itrLmmMsdCRVZmJE8-iGhy3-bQQ7NkP0gYrry4';
    const r = redactor.redactString(`Authorization: Bearer ${jwt}`);
    expect(r.text).toBe('Authorization: Bearer [REDACTED:JWT]');
    expect(r.hits).toEqual([{ kind: 'JWT', count: 1 }]);
  });

  it('redacts only the value of a query parameter and only the credentials of a URL', () => {
    expect(
      redactor.redactString('https://alice:s3cr3t@db.example.com/x?page=2&token=q8Zt3kLw9VbN2xYp7RmC&x=1')
        .text,
    ).toBe('https://[REDACTED:URL_SECRET]@db.example.com/x?page=2&token=[REDACTED:URL_SECRET]&x=1');
  });

  it('replaces a whole PEM block, headers and END line included, and a truncated one to its end', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
    expect(
      redactor.redactString(`a\n-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\nb`).text,
    ).toBe('a\n[REDACTED:PRIVATE_KEY]\nb');
    expect(redactor.redactString(`cut: -----BEGIN RSA PRIVATE KEY-----\n${body}`).text).toBe(
      'cut: [REDACTED:PRIVATE_KEY]',
    );
  });

  it('applies the IPv4 version-context rule', () => {
    expect(redactor.redactString('version 1.2.3.4 from 10.1.2.3').text).toBe(
      'version 1.2.3.4 from [REDACTED:IPV4]',
    );
    expect(redactor.redactString('upgraded to 3.1.0.2; v10.2.0.1; Chrome/120.0.0.0').hits).toEqual([]);
  });

  it('does not read its own placeholders as context words', () => {
    const once = redactor.redactString('born 3 March 1985 | passport X1234567 | ssn 536229184').text;
    expect(once).toBe('born [REDACTED:DATE_OF_BIRTH] | passport [REDACTED:PASSPORT] | ssn [REDACTED:US_SSN]');
    const glued =
      '[REDACTED:DATE_OF_BIRTH] 1990-05-12 [REDACTED:PASSPORT] 123456789 [REDACTED:US_SSN] 536229184';
    expect(redactor.redactString(glued).text).toBe(glued);
  });

  it('never finds anything new in its own output (placeholders are not secrets)', () => {
    const fragments = LABELLED_CASES.filter((c) => c.kind !== 'SECRET_FIELD').map((c) => c.text);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { minLength: 1, maxLength: 6 }), (parts) => {
        const once = redactor.redactString(parts.join(' | ')).text;
        expect(redactor.redactString(once).text).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactValue', () => {
  it('walks nested objects and arrays, copying only what changed and never mutating the input', () => {
    const input = {
      action: 'email.send',
      args: { to: ['ana@example.org', 'ops'], body: { text: 'call (555) 234-5678', n: 3 } },
      unchanged: { deep: ['x', 1, true, null] },
    };
    const before = structuredClone(input);
    const r = redactor.redactValue(input);
    expect(input).toEqual(before);
    expect(r.value).toEqual({
      action: 'email.send',
      args: { to: ['[REDACTED:EMAIL]', 'ops'], body: { text: 'call [REDACTED:PHONE]', n: 3 } },
      unchanged: { deep: ['x', 1, true, null] },
    });
    const out = r.value as typeof input;
    expect(out.unchanged).toBe(input.unchanged); // untouched subtrees are shared, not copied
    expect(r.hits).toEqual([
      { kind: 'EMAIL', count: 1 },
      { kind: 'PHONE', count: 1 },
    ]);
    expect(r.truncated).toBe(false);
  });

  it('returns the same object instance when nothing is found (also on the cached second pass)', () => {
    const v = { decision: 'allow', model: 'gpt-4o', usage: { prompt_tokens: 812 }, tags: ['a', 'b'] };
    expect(redactor.redactValue(v).value).toBe(v);
    expect(redactor.redactValue(v).value).toBe(v);
    expect(redactor.redactValue('plain').value).toBe('plain');
  });

  it('replaces the whole value of secret-named keys, whatever the case or separators', () => {
    const r = redactor.redactValue({
      Password: 'hunter2',
      'X-Api-Key': 'short',
      client_secret: { nested: 'anything' },
      accessToken: 12345,
      AUTHORIZATION: ['Basic', 'x'],
      max_tokens: 4096,
      token_count: 12,
      author: 'Ana',
      public_key: 'ssh-ed25519 AAAA',
      has_password: true,
      refresh_token: null,
      api_key: '',
    });
    expect(r.value).toEqual({
      Password: '[REDACTED:SECRET_FIELD]',
      'X-Api-Key': '[REDACTED:SECRET_FIELD]',
      client_secret: '[REDACTED:SECRET_FIELD]',
      accessToken: '[REDACTED:SECRET_FIELD]',
      AUTHORIZATION: '[REDACTED:SECRET_FIELD]',
      max_tokens: 4096,
      token_count: 12,
      author: 'Ana',
      public_key: 'ssh-ed25519 AAAA',
      has_password: true,
      refresh_token: null,
      api_key: '',
    });
    expect(r.hits).toEqual([{ kind: 'SECRET_FIELD', count: 5 }]);
  });

  it('uses context-giving key names for values that are ambiguous on their own', () => {
    const r = redactor.redactValue({
      dob: '1990-05-12',
      created: '1990-05-12',
      passport_number: 'C01X00T47',
      ssn: '536229184',
      home_address: '12 Elm Road, Leeds',
      card: 4000001234567899,
      count: 1234567890123,
    });
    expect(r.value).toEqual({
      dob: '[REDACTED:DATE_OF_BIRTH]',
      created: '1990-05-12',
      passport_number: '[REDACTED:PASSPORT]',
      ssn: '[REDACTED:US_SSN]',
      home_address: '[REDACTED:POSTAL_ADDRESS]',
      card: '[REDACTED:CARD]',
      count: 1234567890123,
    });
  });

  it('redacts PII in key names too, keeping colliding keys apart', () => {
    const r = redactor.redactValue({ 'ana@example.org': 1, 'bo@example.org': 2 });
    expect(r.value).toEqual({ '[REDACTED:EMAIL]': 1, '[REDACTED:EMAIL]#2': 2 });
  });

  it('keeps a "__proto__" key as data', () => {
    const input = JSON.parse('{"__proto__": {"mail": "ana@example.org"}, "a": 1}') as Record<string, unknown>;
    const out = redactor.redactValue(input).value as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"mail":"[REDACTED:EMAIL]"},"a":1}');
  });

  it('agrees with redacting each string on its own (the joined-text shortcut is sound)', () => {
    const fragments = [
      ...LABELLED_CASES.filter((c) => c.kind !== 'SECRET_FIELD').map((c) => c.text),
      'plain words',
      'x',
      '',
      '2025-03-14T09:26:53.589Z',
    ];
    const fresh = createRedactor();
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 8 }), (strings) => {
        expect(fresh.redactValue(strings).value).toEqual(strings.map((s) => fresh.redactString(s).text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('bounds', () => {
  it('replaces containers nested deeper than maxDepth and reports truncation', () => {
    let deep: unknown = { mail: 'ana@example.org' };
    for (let i = 0; i < DEFAULT_VALUE_LIMITS.maxDepth + 5; i++) deep = { child: deep };
    const r = redactor.redactValue(deep);
    expect(r.truncated).toBe(true);
    expect(JSON.stringify(r.value)).toContain(TRUNCATED);
    expect(JSON.stringify(r.value)).not.toContain('ana@example.org');
  });

  it('stops at maxNodes and maxChars without passing the rest through', () => {
    const small = createRedactor({ limits: { maxNodes: 50, maxChars: 1000 } });
    const many = Array.from({ length: 200 }, (_, i) => `item ${i} ana${i}@example.org`);
    const r1 = small.redactValue(many);
    expect(r1.truncated).toBe(true);
    expect(JSON.stringify(r1.value)).not.toMatch(/ana\d+@example\.org/);
    const r2 = small.redactValue(['x'.repeat(990), 'then ana@example.org and more text']);
    expect(r2.truncated).toBe(true);
    expect(JSON.stringify(r2.value)).not.toContain('ana@example.org');
  });

  it('terminates on cyclic input', () => {
    const a: Record<string, unknown> = { mail: 'ana@example.org' };
    a.self = a;
    const r = redactor.redactValue(a);
    expect(r.truncated).toBe(true);
  });

  // Every input is 100 KB built to make a careless regex backtrack: long runs that almost match.
  const N = 100_000;
  const fill = (unit: string): string => unit.repeat(Math.ceil(N / unit.length)).slice(0, N);
  const hostile: [string, string][] = [
    ['letters', fill('a')],
    ['digits', fill('1')],
    ['digits and spaces', fill('1 ')],
    ['dotted digits', fill('1.')],
    ['at signs', fill('a@')],
    ['local part without domain', `${fill('a.')}@`],
    ['almost domains', fill('x@y.')],
    ['PEM headers without END', fill('-----BEGIN RSA PRIVATE KEY-----\n')],
    ['JWT prefix and a long run', `eyJ${fill('a')}`],
    ['JWT-like segments', fill('eyJa.')],
    ['colons', fill('::')],
    ['hex and colons', fill('ff:')],
    ['context words', fill('token secret passport dob born address ssn bearer basic straße rue key= pass= ')],
    ['assignments without values', fill('password="')],
    ['backslashes after a password', `password: "${fill('\\')}`],
    ['URL without end', `https://${fill('a')}`],
    ['many schemes', fill('http://a:')],
    ['query names', fill('?token=')],
    ['key prefixes', fill('sk-')],
    ['IBAN starts', fill('DE00 ')],
    ['street names without type', fill('12 Main Main Main ')],
    ['German street words', fill('Hauptstraße ')],
    ['phones', fill('+1 ')],
    ['version strings', fill('v1.2.3.4 ')],
    ['repeated date-of-birth words', fill('dob ')],
    ['repeated passport words', fill('passport A1 ')],
    ['repeated SSN words', fill('ssn 123-45-')],
    ['repeated assignments', fill('token=')],
    ['repeated AWS names', fill('secret_access_key=')],
  ];
  it.each(hostile)('%s: 100 KB finishes in under 1 s', (_name, text) => {
    const t0 = performance.now();
    redactor.redactString(text);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('scales linearly: 8x the input costs far less than 64x the time', () => {
    const units = [
      'dob ',
      'token=',
      'a@',
      '1 ',
      'passport A1 ',
      'password="',
      '-----BEGIN RSA PRIVATE KEY-----\n',
    ];
    // Interleaved, best of 7 each: a busy machine slows both sizes alike. Linear is ~8x, quadratic
    // ~64x; the 1 ms floor keeps timer noise on tiny inputs out. A measurement that looks
    // superlinear is taken again (up to 3 times): noise on a loaded CI machine rarely repeats, a
    // quadratic scan always does.
    const ratio = (small: string, large: string): { large: number; limit: number } => {
      let bestSmall = Number.POSITIVE_INFINITY;
      let bestLarge = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 7; i++) {
        let t0 = performance.now();
        redactor.redactString(small);
        bestSmall = Math.min(bestSmall, performance.now() - t0);
        t0 = performance.now();
        redactor.redactString(large);
        bestLarge = Math.min(bestLarge, performance.now() - t0);
      }
      return { large: bestLarge, limit: 24 * Math.max(bestSmall, 1) };
    };
    for (const unit of units) {
      const small = unit.repeat(Math.ceil(25_000 / unit.length));
      const large = unit.repeat(Math.ceil(200_000 / unit.length));
      let m = ratio(small, large);
      for (let attempt = 1; attempt < 3 && m.large >= m.limit; attempt++) m = ratio(small, large);
      expect(m.large, JSON.stringify(unit)).toBeLessThan(m.limit);
    }
  });

  it('random text over a hostile alphabet stays fast', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'aA1 .-_:@/=?&"\'eyJ+()Bearer'), maxLength: 20_000 }),
        (text) => {
          const t0 = performance.now();
          redactor.redactString(text);
          expect(performance.now() - t0).toBeLessThan(1000);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('configuration', () => {
  it('detects only the configured kinds', () => {
    const onlyEmail = createRedactor({ kinds: ['EMAIL'] });
    expect(onlyEmail.redactString('ana@example.org 4000 0012 3456 7899').text).toBe(
      '[REDACTED:EMAIL] 4000 0012 3456 7899',
    );
    expect(onlyEmail.redactValue({ password: 'x' }).value).toEqual({ password: 'x' });
    expect(onlyEmail.kinds).toEqual(['EMAIL']);
  });

  it('adds tenant patterns, with an optional validator', () => {
    const r = createRedactor({
      kinds: ['EMAIL'],
      extraPatterns: [
        { kind: 'EMPLOYEE_ID', pattern: /\bEMP-\d{6}\b/, validate: (m) => !m.endsWith('000000') },
      ],
    });
    expect(r.redactString('EMP-123456 and EMP-000000').text).toBe('[REDACTED:EMPLOYEE_ID] and EMP-000000');
    expect(r.kinds).toEqual(['EMAIL', 'EMPLOYEE_ID']);
  });

  it('applies anchored tenant patterns to each string of a value, not to the joined record', () => {
    const r = createRedactor({ extraPatterns: [{ kind: 'TICKET', pattern: /^T-\d{4}$/ }] });
    expect(r.redactValue({ a: 'T-1234', b: 'x T-1234', c: ['T-9999'] }).value).toEqual({
      a: '[REDACTED:TICKET]',
      b: 'x T-1234',
      c: ['[REDACTED:TICKET]'],
    });
  });

  it('rejects unknown kinds and badly named extra kinds', () => {
    expect(() => createRedactor({ kinds: ['NOPE' as PiiKind] })).toThrow(/unknown redaction kind "NOPE"/);
    expect(() => createRedactor({ extraPatterns: [{ kind: 'lower', pattern: /x/ }] })).toThrow(
      /UPPER_SNAKE_CASE/,
    );
  });
});
