/**
 * Exponential backoff with full jitter, capped: retries of many nodes spread out instead of
 * arriving together.
 *
 * @example
 *   const delayMs = backoffDelay(attempt, { baseMs: 500, maxMs: 60_000 });
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Source of randomness in [0, 1); tests pass a constant. */
  random?: () => number;
}

export function backoffDelay(
  attempt: number,
  { baseMs, maxMs, random = Math.random }: BackoffOptions,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half random: never zero, never more than the cap.
  return Math.round(exp / 2 + (exp / 2) * random());
}
