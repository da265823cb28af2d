/**
 * Precision and recall of the audit PII redactor, per kind, over the labelled sets in
 * src/modules/audit/redaction/labelled-set.ts: the tuning set (true positives and near misses the
 * detectors were developed against) and the held-out set (written after the detectors were frozen).
 *
 *   npx tsx bench/pii-accuracy.ts
 */
import { type Score, scoreLabelledSet } from '../src/modules/audit/redaction/accuracy.js';
import {
  HELD_OUT_CASES,
  LABELLED_CASES,
  type LabelledCase,
} from '../src/modules/audit/redaction/labelled-set.js';
import { createRedactor } from '../src/modules/audit/redaction/redact.js';

const redactor = createRedactor();
const f3 = (x: number): string => x.toFixed(3);

function printTable(title: string, cases: readonly LabelledCase[], score: Score): void {
  console.log(`\n### ${title} (${cases.length} cases)\n`);
  console.log('| kind | positives | near misses | TP | FP | FN | precision | recall |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const k of score.byKind) {
    tp += k.truePositives;
    fp += k.falsePositives;
    fn += k.falseNegatives;
    console.log(
      `| ${k.kind} | ${k.positives} | ${k.negatives} | ${k.truePositives} | ${k.falsePositives} | ${k.falseNegatives} | ${f3(k.precision)} | ${f3(k.recall)} |`,
    );
  }
  console.log(`| **all** | | | ${tp} | ${fp} | ${fn} | ${f3(tp / (tp + fp))} | ${f3(tp / (tp + fn))} |`);
  const errors = score.byKind.flatMap((k) => [
    ...k.missed.map((t) => `- FN ${k.kind}: ${JSON.stringify(t)}`),
    ...k.wronglyFlagged.map((t) => `- FP ${k.kind}: ${JSON.stringify(t)}`),
  ]);
  console.log(errors.length === 0 ? '\nNo errors.' : `\nErrors:\n${errors.join('\n')}`);
  console.log(`Sensitive text surviving in the output of a positive: ${score.leaks.length}`);
  for (const c of score.leaks) console.log(`- ${c.kind}: ${JSON.stringify(c.text)}`);
}

printTable('Tuning set', LABELLED_CASES, scoreLabelledSet(redactor, LABELLED_CASES));
printTable('Held-out set', HELD_OUT_CASES, scoreLabelledSet(redactor, HELD_OUT_CASES));
console.log(`\nnode ${process.version}, ${new Date().toISOString()}`);
