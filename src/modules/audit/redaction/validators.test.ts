import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  calendarDateValid,
  cardIinPlausible,
  ibanMod97,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  jwtHeaderValid,
  looksLikeSecret,
  luhnValid,
  monthFromName,
  shannonEntropy,
  ssnValid,
  writtenDateValid,
} from './validators.js';

/** The Luhn check digit for `body`, computed independently of `luhnValid` (doubling from the right). */
function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

describe('luhnValid', () => {
  it('accepts hand-checked numbers and ignores separators', () => {
    // 4000 0012 3456 7899: worked by hand, sum of the doubled/undoubled digits is 60.
    expect(luhnValid('4000001234567899')).toBe(true);
    expect(luhnValid('4000 0012-3456 7899')).toBe(true);
    expect(luhnValid('4000001234567890')).toBe(false);
  });

  it('holds for any body with its computed check digit, and breaks on any single-digit change', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12,18}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (body, pos, delta) => {
          const number = body + luhnCheckDigit(body);
          expect(luhnValid(number)).toBe(true);
          const i = pos % number.length;
          const changed = number.slice(0, i) + String((Number(number[i]) + delta) % 10) + number.slice(i + 1);
          expect(luhnValid(changed)).toBe(false);
        },
      ),
    );
  });
});

describe('cardIinPlausible', () => {
  it.each([
    ['4000001234567899', true],
    ['4024007111228', true],
    ['378282000111227', true],
    ['3782820001112270', false], // Amex is 15 digits
    ['5555444433332226', true],
    ['2223000111222334', true],
    ['6011000123456786', true],
    ['9000001234567898', false],
    ['7000123456789010', false],
    ['1718000000123456', false], // a microsecond timestamp, not a 15-digit UATP card
  ])('%s → %s', (digits, expected) => {
    expect(cardIinPlausible(digits)).toBe(expected);
  });
});

describe('ibanValid', () => {
  it('checks the country length and mod 97', () => {
    expect(ibanValid('DE75512108001245126199')).toBe(true);
    expect(ibanValid('DE75512108001245126198')).toBe(false);
    expect(ibanValid('DE7551210800124512619')).toBe(false);
    expect(ibanValid('XX75512108001245126199')).toBe(false);
    expect(ibanValid('NO9386011117947')).toBe(true);
  });

  it('any body gets valid check digits from 98 - mod97, and any single digit substitution is caught', () => {
    // 97 is prime and divides no d·10^k, so changing one digit always changes the remainder.
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9A-Z]{18}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (bban, pos, delta) => {
          const check = String(98 - ibanMod97(`GB00${bban}`)).padStart(2, '0');
          const iban = `GB${check}${bban}`;
          expect(ibanValid(iban)).toBe(true);
          const digitAt = [...iban].flatMap((c, i) => (i >= 2 && /\d/.test(c) ? [i] : []));
          const i = digitAt[pos % digitAt.length] as number;
          const changed = iban.slice(0, i) + String((Number(iban[i]) + delta) % 10) + iban.slice(i + 1);
          expect(ibanValid(changed)).toBe(false);
        },
      ),
    );
  });
});

describe('ssnValid', () => {
  it.each([
    ['123', '45', '6789', true],
    ['000', '12', '3456', false],
    ['666', '12', '3456', false],
    ['900', '12', '3456', false],
    ['123', '00', '4567', false],
    ['123', '45', '0000', false],
    ['078', '05', '1120', false],
  ])('%s-%s-%s → %s', (a, g, s, expected) => {
    expect(ssnValid(a, g, s)).toBe(expected);
  });
});

describe('ipv4Valid / ipv6Valid', () => {
  it('ipv4', () => {
    expect(ipv4Valid('192.168.10.1')).toBe(true);
    expect(ipv4Valid('0.0.0.0')).toBe(true);
    expect(ipv4Valid('256.1.1.1')).toBe(false);
    expect(ipv4Valid('01.2.3.4')).toBe(false);
    expect(ipv4Valid('1.2.3')).toBe(false);
  });

  it.each([
    ['2001:db8::1', true],
    ['::1', true],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', true],
    ['::ffff:192.0.2.128', true],
    ['1:2:3:4:5:6:1.2.3.4', true],
    ['fe80::1%eth0', true],
    ['12:34:56', false],
    ['00:1a:2b:3c:4d:5e', false],
    ['2001:db8::1::2', false],
    ['12345::1', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['dead::beef', false], // no digit: taken for a word, by design
    ['::', false],
  ])('ipv6 %s → %s', (text, expected) => {
    expect(ipv6Valid(text)).toBe(expected);
  });
});

describe('jwtHeaderValid', () => {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  it('needs a JSON object with a string alg', () => {
    expect(jwtHeaderValid(b64({ alg: 'HS256', typ: 'JWT' }))).toBe(true);
    expect(jwtHeaderValid(b64({ typ: 'JWT' }))).toBe(false);
    expect(jwtHeaderValid(b64({ alg: 5 }))).toBe(false);
    expect(jwtHeaderValid(Buffer.from('not json at all').toString('base64url'))).toBe(false);
  });
});

describe('dates', () => {
  it('calendarDateValid knows leap years', () => {
    expect(calendarDateValid(2000, 2, 29)).toBe(true);
    expect(calendarDateValid(1900, 2, 29)).toBe(false);
    expect(calendarDateValid(1990, 4, 31)).toBe(false);
    expect(calendarDateValid(1850, 1, 1)).toBe(false);
  });

  it.each([
    ['1990-05-12', true],
    ['12/05/1990', true],
    ['05.12.90', true],
    ['3rd of March 1985', true],
    ['June 12, 1999', true],
    ['14-Feb-1988', true],
    ['19860415', true],
    ['1990-13-45', false],
    ['31/02/1990', false],
    ['Smarch 3, 1990', false],
  ])('writtenDateValid(%s) → %s', (text, expected) => {
    expect(writtenDateValid(text)).toBe(expected);
  });

  it('monthFromName', () => {
    expect(monthFromName('June')).toBe(6);
    expect(monthFromName('sept')).toBe(9);
    expect(monthFromName('Dec')).toBe(12);
    expect(monthFromName('Ju')).toBe(0);
  });
});

describe('entropy and secret shape', () => {
  it('shannonEntropy', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });

  it.each([
    ['q8Zt3kLw9VbN2xYp7RmC', true],
    ['3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e', true],
    ['not_a_real_secret_value', false],
    ['0195a3c2-7d4e-7f10-9b2a-5c6d7e8f9a0b', false],
    ['1234567890123456', false],
    ['/var/run/secrets/token', false],
    ['short1A', false],
  ])('looksLikeSecret(%s) → %s', (value, expected) => {
    expect(looksLikeSecret(value)).toBe(expected);
  });
});
