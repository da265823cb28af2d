import { describe, expect, it } from 'vitest';
import { AdmissionControl } from './admission.js';

const admittedOf = (a: AdmissionControl, n: number) => {
  let k = 0;
  for (let i = 0; i < n; i++) if (a.admit()) k++;
  return k;
};

describe('adaptive admission', () => {
  it('admits everything while the loop keeps within the target', () => {
    const a = new AdmissionControl({ targetMs: 50 });
    a.adjust(12);
    expect(admittedOf(a, 1000)).toBe(1000);
  });

  it('ignores one window over the target (a stall), then cuts by 30 % a window, more when far over, to a floor', () => {
    const a = new AdmissionControl({ targetMs: 50, minShare: 0.05 });
    a.adjust(400);
    expect(a.share).toBe(1);
    a.adjust(10);
    a.adjust(60);
    expect(a.share).toBe(1);
    a.adjust(60);
    expect(a.share).toBeCloseTo(0.7);
    a.adjust(200); // four times the target: a quarter
    expect(a.share).toBeCloseTo(0.175);
    for (let i = 0; i < 30; i++) a.adjust(300);
    expect(a.share).toBe(0.05);
  });

  it('spreads admissions evenly (no run of refusals longer than the share implies)', () => {
    const a = new AdmissionControl({ targetMs: 50 });
    a.adjust(60);
    a.adjust(60);
    a.adjust(60); // share 0.49
    const pattern = Array.from({ length: 100 }, () => a.admit());
    // 49 of 100, give or take the rounding of the running credit.
    expect(Math.abs(pattern.filter(Boolean).length - 49)).toBeLessThanOrEqual(1);
    expect(pattern.join('')).not.toMatch(/(false){3}/);
  });

  it('recovers from the floor to everything within 8 windows back within the target', () => {
    const a = new AdmissionControl({ targetMs: 50, minShare: 0.05 });
    for (let i = 0; i < 12; i++) a.adjust(500);
    expect(a.share).toBe(0.05);
    a.adjust(10);
    expect(a.share).toBeCloseTo(0.1125);
    for (let i = 0; i < 7; i++) a.adjust(10);
    expect(a.share).toBe(1);
    expect(admittedOf(a, 10)).toBe(10);
  });
});
