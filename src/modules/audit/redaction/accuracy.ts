/**
 * Scores a redactor against the labelled set: per kind, precision and recall, the cases it got
 * wrong, and whether any sensitive text survived redaction (which must never happen for a
 * positive the redactor claims to have found, and is reported for the ones it missed).
 */

import { PII_KINDS, type PiiKind, replacementFor } from './kinds.js';
import type { LabelledCase } from './labelled-set.js';
import type { Redactor } from './redact.js';

export interface KindScore {
  kind: PiiKind;
  positives: number;
  negatives: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** 1 when nothing was flagged. */
  precision: number;
  recall: number;
  /** Texts behind the false negatives and false positives, for the report. */
  missed: string[];
  wronglyFlagged: string[];
}

export interface Score {
  byKind: KindScore[];
  /** Positive cases whose sensitive text is still in the output. */
  leaks: LabelledCase[];
}

/**
 * The redacted text of a case and the kinds found in it.
 *
 * @example
 *   runCase(createRedactor(), LABELLED_CASES[0]).kinds; // Set { 'EMAIL' }
 */
export function runCase(redactor: Redactor, c: LabelledCase): { output: string; kinds: Set<string> } {
  if (c.kind === 'SECRET_FIELD') {
    const r = redactor.redactValue(JSON.parse(c.text) as unknown);
    return { output: JSON.stringify(r.value), kinds: new Set(r.hits.map((h) => h.kind)) };
  }
  const r = redactor.redactString(c.text);
  return { output: r.text, kinds: new Set(r.hits.map((h) => h.kind)) };
}

/**
 * A positive counts as found when its kind is reported and its sensitive text is gone. Any kind
 * reported on a case that neither labels it nor lists it under `also` is a false positive of that kind.
 *
 * @example
 *   const score = scoreLabelledSet(createRedactor(), LABELLED_CASES);
 *   score.byKind.find((k) => k.kind === 'EMAIL')?.recall; // 1
 */
export function scoreLabelledSet(redactor: Redactor, cases: readonly LabelledCase[]): Score {
  const byKind = new Map<PiiKind, KindScore>(
    PII_KINDS.map((kind) => [
      kind,
      {
        kind,
        positives: 0,
        negatives: 0,
        truePositives: 0,
        falsePositives: 0,
        falseNegatives: 0,
        precision: 1,
        recall: 1,
        missed: [],
        wronglyFlagged: [],
      },
    ]),
  );
  const leaks: LabelledCase[] = [];
  for (const c of cases) {
    const { output, kinds } = runCase(redactor, c);
    const own = byKind.get(c.kind) as KindScore;
    if (c.positive) {
      own.positives++;
      const gone = c.secret !== undefined && c.secret !== '' && !output.includes(c.secret);
      if (!gone) leaks.push(c);
      if (gone && kinds.has(c.kind)) own.truePositives++;
      else {
        own.falseNegatives++;
        own.missed.push(c.text);
      }
    } else {
      own.negatives++;
    }
    for (const k of kinds) {
      if ((c.positive && k === c.kind) || c.also?.includes(k as PiiKind)) continue;
      const s = byKind.get(k as PiiKind);
      if (s === undefined) continue;
      s.falsePositives++;
      s.wronglyFlagged.push(
        `${c.kind}: ${c.text} → ${output.includes(replacementFor(k)) ? output : '(hit)'}`,
      );
    }
  }
  for (const s of byKind.values()) {
    const flagged = s.truePositives + s.falsePositives;
    s.precision = flagged === 0 ? 1 : s.truePositives / flagged;
    s.recall = s.positives === 0 ? 1 : s.truePositives / s.positives;
  }
  return { byKind: [...byKind.values()], leaks };
}
