/**
 * Time as a dependency, so tests can move it (STYLE.md: "take the clock as a dependency").
 *
 * @example
 *   const clock = systemClock;
 *   const expires = clock.now() + 60_000;
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, UTC. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests of expiry, TTLs and timers. */
export class ManualClock implements Clock {
  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
