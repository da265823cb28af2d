/**
 * Adaptive admission: past its knee a node answers a growing share of new requests with a fast
 * 503 (+ Retry-After), so that the ones it admits are still served within a target time.
 *
 * The signal is the event loop's delay, not the number of requests in flight. Measured on the
 * decision path (bench/policy-http.ts, 512 connections): a Node server past its knee does not hold
 * many requests at once — each is parsed, decided and answered within its own socket callback, so
 * at most one or two are "in flight" — while the others wait, unread, in the kernel's socket
 * buffers until the loop comes round to them. What grows is the time one turn of the loop takes
 * (512 requests × their CPU), and that is what every waiting client sees. A limit on requests in
 * flight cannot see it; the loop's delay does.
 *
 * Control: the share of new requests admitted is cut by at least 30 % (by target ÷ delay when
 * that is smaller) for each window in which the loop's p90 delay exceeds the target, from the
 * second such window in a row on; and raised by a quarter plus 5 points for each window within it
 * (from the floor back to everything in about 2 s). A cousin of TCP's AIMD congestion control,
 * applied to the admitted share. Admission is spread evenly by a credit
 * counter rather than a coin toss: no randomness, no bursts of refusals. Hand-written: a few lines
 * on the edge's hot path, which no library offers for Fastify without its own per-request cost.
 *
 * @example
 *   const admission = new AdmissionControl({ targetMs: 50 });
 *   every window: admission.adjust(loopDelayP90Ms);
 *   per request: if (!admission.admit()) return shed();
 */
export interface AdmissionOptions {
  /** The event-loop delay (p90 of a window, ms) admitted requests should stay within. */
  readonly targetMs: number;
  /** The smallest share of requests admitted however loaded the node is (default 0.05). */
  readonly minShare?: number;
}

export class AdmissionControl {
  /** The share of new requests admitted, in [minShare, 1]. */
  share = 1;
  #credit = 0;
  #overBefore = false;
  readonly #minShare: number;

  constructor(private readonly options: AdmissionOptions) {
    this.#minShare = options.minShare ?? 0.05;
  }

  /** Whether to admit the next request (always, unless the node is past its target). */
  admit(): boolean {
    if (this.share >= 1) return true;
    this.#credit += this.share;
    if (this.#credit >= 1) {
      this.#credit -= 1;
      return true;
    }
    return false;
  }

  /** Ends a window with the loop's p90 delay in it (ms). */
  adjust(loopDelayP90Ms: number): void {
    const over = loopDelayP90Ms > this.options.targetMs;
    // Only a second window over the target cuts: one stall (a GC, a compile) is not overload. Far
    // over it, the cut is in proportion (a 150 ms loop against 50 ms: to a third).
    if (over && this.#overBefore)
      this.share = Math.max(
        this.#minShare,
        this.share * Math.min(0.7, this.options.targetMs / loopDelayP90Ms),
      );
    else if (!over) this.share = Math.min(1, this.share * 1.25 + 0.05);
    this.#overBefore = over;
    if (this.share >= 1) this.#credit = 0;
  }
}
