import { describe, expect, it, vi } from 'vitest';
import { isUuid, newId } from './ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('newId (UUIDv7)', () => {
  it('has the version 7 and RFC 9562 variant bits and carries the current time in milliseconds', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(isUuid(id)).toBe(true);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after + 1);
  });

  it('sorts in creation order, also within one millisecond, and never repeats', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the timestamp forward when the counter of a millisecond runs out or the clock steps back', () => {
    const spy = vi.spyOn(Date, 'now').mockReturnValue(4_000_000_000_000);
    try {
      const ids = Array.from({ length: 5_000 }, () => newId()); // more than 2^12 in one "millisecond"
      expect([...ids].sort()).toEqual(ids);
      expect(msOf(ids.at(-1)!)).toBeGreaterThan(4_000_000_000_000);
      spy.mockReturnValue(3_999_999_999_000); // the clock steps back a second
      const later = newId();
      expect(later > ids.at(-1)!).toBe(true);
      expect(later).toMatch(V7);
      // Back by more than ten seconds: the clock was wrong before, and ids follow it again.
      spy.mockReturnValue(3_999_999_980_000);
      const reset = newId();
      expect(msOf(reset)).toBe(3_999_999_980_000);
      expect(newId() > reset).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps 62 random bits: two processes in the same millisecond do not collide', () => {
    const tails = new Set(Array.from({ length: 10_000 }, () => newId().slice(19)));
    expect(tails.size).toBe(10_000);
  });
});
