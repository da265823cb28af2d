/**
 * Evidence streams: an export too long for one package, as a sequence of packages ("parts") that
 * are each complete and verifiable alone, and together prove one contiguous stretch of the log.
 *
 * The file is JSON Lines, written and read one line at a time so neither side ever holds more than
 * one part (memory stays bounded however long the log):
 *
 *   {"format":"warden.audit.evidence-stream/v1","tenant_id":…,"tree_size":N,"from_index":a,"to_index":b,…}
 *   {"format":"warden.audit.evidence/v1",…}        ← part 1: records [a, a+k)
 *   {"format":"warden.audit.evidence/v1",…}        ← part 2: records [a+k, a+2k) …
 *   {"format":"warden.audit.evidence-stream-end/v1","parts":P,"record_count":b-a}
 *
 * Beyond what each part proves on its own (evidence.ts), the stream verifier checks what binds the
 * parts together: one tenant, one key, every part proved against the same signed tree head (the
 * head the export pinned: a server cannot show different parts different logs), parts contiguous
 * from `from_index` to `to_index` with nothing missing or repeated, no two signed heads of one size
 * with different roots (a split view), and the end line present and agreeing (a cut-short file is
 * named as such). When the stream starts at leaf 0 and ends at the pinned head, the whole tree is
 * recomputed from the leaves across all parts and every signed head's root checked on the way.
 */
import {
  type EvidencePackage,
  parsePublicKey,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyReport,
  verifyEvidence,
} from './evidence.js';
import { MerkleAppender } from './merkle.js';
import type { SignedTreeHeadJson } from './tree-head.js';

export const EVIDENCE_STREAM_FORMAT = 'warden.audit.evidence-stream/v1';
export const EVIDENCE_STREAM_END_FORMAT = 'warden.audit.evidence-stream-end/v1';

export interface EvidenceStreamHeader {
  format: typeof EVIDENCE_STREAM_FORMAT;
  tenant_id: string;
  /** The signed head every part is proved against. */
  tree_size: number;
  /** The stretch [from_index, to_index) the parts cover together. */
  from_index: number;
  to_index: number;
  from: string | null;
  to: string | null;
  exported_at: string;
}

export interface EvidenceStreamEnd {
  format: typeof EVIDENCE_STREAM_END_FORMAT;
  parts: number;
  record_count: number;
}

/** The header of a stream whose first part is `first` (a page of GET /v1/audit/export). */
export function streamHeader(first: EvidencePackage): EvidenceStreamHeader {
  const m = first.manifest;
  return {
    format: EVIDENCE_STREAM_FORMAT,
    tenant_id: m.tenant_id,
    tree_size: first.tree_heads.at(-1)?.tree_size ?? 0,
    from_index: m.from_index,
    to_index: m.range_to_index ?? m.to_index,
    from: m.from,
    to: m.to,
    exported_at: m.exported_at,
  };
}

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.detail);
  }
}

/**
 * Verifies an evidence stream fed one line at a time; never throws for a bad stream, it reports it.
 *
 * @example
 *   const v = new EvidenceStreamVerifier({ publicKey });
 *   v.header(JSON.parse(line1));
 *   for (const line of partLines) if (!v.part(JSON.parse(line))) break;
 *   const report = v.finish({ trailer: JSON.parse(lastLine) });
 */
export class EvidenceStreamVerifier {
  readonly report: VerifyReport & { checked: VerifyReport['checked'] & { parts: number } };
  #header: EvidenceStreamHeader | undefined;
  #options: VerifyOptions;
  #publicKey: VerifyOptions['publicKey'];
  /** The pinned head as the first part signed it: every later part must carry the same. */
  #pinned: SignedTreeHeadJson | undefined;
  #next = 0;
  #parts = 0;
  /** Root of every signed head seen, by size (a size with two roots is a split view). */
  #roots = new Map<number, string>();
  #appender: MerkleAppender | undefined;
  #warned = new Set<string>();

  constructor(options: VerifyOptions = {}) {
    this.#options = options;
    this.#publicKey = options.publicKey;
    this.report = {
      ok: false,
      tenant_id: '',
      tree_size: 0,
      checked: { records: 0, tree_heads: 0, consistency_proofs: 0, full_root_recomputed: false, parts: 0 },
      warnings: [],
    };
  }

  get failed(): boolean {
    return this.report.failure !== undefined;
  }

  /** The stream's first line. Returns false once the stream has failed. */
  header(input: unknown): boolean {
    return this.#step(() => {
      const h = input as Partial<EvidenceStreamHeader> | null;
      if (
        h === null ||
        typeof h !== 'object' ||
        h.format !== EVIDENCE_STREAM_FORMAT ||
        typeof h.tenant_id !== 'string' ||
        !isIndex(h.tree_size) ||
        !isIndex(h.from_index) ||
        !isIndex(h.to_index) ||
        h.from_index > h.to_index ||
        h.to_index > h.tree_size
      )
        throw new Failed({
          reason: 'malformed_package',
          detail: `the first line is not a ${EVIDENCE_STREAM_FORMAT} header with a leaf range inside its tree`,
        });
      this.#header = h as EvidenceStreamHeader;
      this.#next = h.from_index;
      this.report.tenant_id = h.tenant_id;
      this.report.tree_size = h.tree_size;
      if (h.from_index === 0 && h.to_index === h.tree_size) this.#appender = MerkleAppender.empty();
    });
  }

  /** One part (a complete evidence package). Returns false once the stream has failed. */
  part(input: unknown): boolean {
    return this.#step(() => {
      const header = this.#header;
      if (!header) throw new Failed({ reason: 'malformed_package', detail: 'a part came before the header' });
      const n = ++this.#parts;
      const pkg = input as EvidencePackage;
      const m = pkg?.manifest;
      if (!m || m.tenant_id !== header.tenant_id || !isIndex(m.from_index) || !isIndex(m.to_index))
        throw new Failed({
          reason: 'malformed_package',
          detail: `part ${n} is not a package of log ${header.tenant_id} with a leaf range`,
        });
      if (m.from_index > this.#next)
        throw new Failed({
          reason: 'record_missing',
          detail: `part ${n} starts at leaf ${m.from_index} but the previous part ended at ${this.#next}: the records between were removed from the export`,
          leaf_index: this.#next,
        });
      if (m.from_index < this.#next || m.to_index > header.to_index || m.to_index < m.from_index)
        throw new Failed({
          reason: 'malformed_package',
          detail: `part ${n} covers leaves [${m.from_index}, ${m.to_index}), which overlaps the parts before it or leaves the export's range [${header.from_index}, ${header.to_index})`,
          leaf_index: m.from_index,
        });
      const last = Array.isArray(pkg.tree_heads) ? pkg.tree_heads.at(-1) : undefined;
      if (!last || last.tree_size !== header.tree_size)
        throw new Failed({
          reason: 'inconsistent_tree_heads',
          detail: `part ${n} is proved against a tree of size ${String(last?.tree_size)}, not the head of size ${header.tree_size} the export pinned`,
          tree_size: header.tree_size,
        });
      if (
        this.#pinned &&
        (last.sha256_root_hash !== this.#pinned.sha256_root_hash ||
          last.tree_head_signature !== this.#pinned.tree_head_signature ||
          last.timestamp !== this.#pinned.timestamp)
      )
        throw new Failed({
          reason: 'inconsistent_tree_heads',
          detail: `part ${n} is proved against a different signed head of size ${header.tree_size} than part 1: two views of one log`,
          tree_size: header.tree_size,
        });

      // Progress counts the records of the whole stream.
      let done = this.report.checked.records;
      const total = header.to_index - header.from_index;
      let leaves: readonly Buffer[] = [];
      const r = verifyEvidence(pkg, {
        publicKey: this.#publicKey,
        checkRecord: this.#options.checkRecord,
        onProgress: (_done, _total, label) => {
          if (label === 'records') this.#options.onProgress?.(++done, total, 'records');
        },
        onLeafHashes: (_from, hashes) => {
          leaves = hashes;
        },
      });
      for (const w of r.warnings) {
        if (!this.#warned.has(w)) {
          this.#warned.add(w);
          this.report.warnings.push(w);
        }
      }
      if (!r.ok) throw new Failed({ ...r.failure!, detail: `part ${n}: ${r.failure!.detail}` });
      // Without a pinned key the first part's key (already warned about) must sign every part.
      this.#publicKey ??= parsePublicKey(pkg.public_key.spki_der);
      this.#pinned ??= last;
      this.report.checked.records += r.checked.records;
      this.report.checked.tree_heads += r.checked.tree_heads;
      this.report.checked.consistency_proofs += r.checked.consistency_proofs;
      this.report.checked.parts = n;
      for (const h of pkg.tree_heads) {
        const seen = this.#roots.get(h.tree_size);
        if (seen !== undefined && seen !== h.sha256_root_hash)
          throw new Failed({
            reason: 'inconsistent_tree_heads',
            detail: `two signed heads of size ${h.tree_size} with different roots (part ${n} and an earlier part): a split view of the log`,
            tree_size: h.tree_size,
          });
        this.#roots.set(h.tree_size, h.sha256_root_hash);
      }
      if (this.#appender) this.#extend(m.from_index, leaves, pkg.tree_heads, n);
      this.#next = m.to_index;
    });
  }

  /**
   * Ends the stream. `trailer` is its last line; a source without one (pages read from a server)
   * passes `expectTrailer: false`.
   */
  finish(end: { trailer?: unknown; expectTrailer?: boolean } = {}): VerifyReport {
    this.#step(() => {
      const header = this.#header;
      if (!header) throw new Failed({ reason: 'malformed_package', detail: 'the stream holds no header' });
      const t = end.trailer as Partial<EvidenceStreamEnd> | undefined;
      if (
        (end.expectTrailer ?? true) &&
        (t === undefined || t === null || t.format !== EVIDENCE_STREAM_END_FORMAT)
      )
        throw new Failed({
          reason: 'malformed_package',
          detail: `the stream ends after part ${this.#parts} (leaf ${this.#next}) without its end line: it was cut short`,
          leaf_index: this.#next,
        });
      if (this.#next < header.to_index)
        throw new Failed({
          reason: 'record_missing',
          detail: `the parts end at leaf ${this.#next} but the export covers up to ${header.to_index}: parts were removed`,
          leaf_index: this.#next,
        });
      if (t && (t.parts !== this.#parts || t.record_count !== this.report.checked.records))
        throw new Failed({
          reason: 'malformed_package',
          detail: `the end line counts ${String(t.parts)} parts and ${String(t.record_count)} records; the stream holds ${this.#parts} and ${this.report.checked.records}`,
        });
      if (this.#appender) {
        if (this.#appender.treeSize !== header.tree_size)
          throw new Failed({
            reason: 'log_truncated',
            detail: `the records end at leaf ${this.#appender.treeSize}; the signed tree has ${header.tree_size} leaves`,
            leaf_index: this.#appender.treeSize,
            tree_size: header.tree_size,
          });
        this.report.checked.full_root_recomputed = true;
      }
      this.report.ok = true;
    });
    return this.report;
  }

  /** Extends the whole-tree recomputation with one part's leaves, checking each signed head passed. */
  #extend(from: number, leaves: readonly Buffer[], heads: SignedTreeHeadJson[], part: number): void {
    let appender = this.#appender!;
    if (appender.treeSize !== from)
      throw new Failed({
        reason: 'record_missing',
        detail: `part ${part} starts at leaf ${from}; the recomputed tree holds ${appender.treeSize} leaves`,
        leaf_index: appender.treeSize,
      });
    let at = 0;
    for (const h of heads) {
      if (h.tree_size <= from || h.tree_size > from + leaves.length) continue;
      appender = appender.append(leaves.slice(at, h.tree_size - from)).appender;
      at = h.tree_size - from;
      if (appender.root().toString('base64') !== h.sha256_root_hash)
        throw new Failed({
          reason: 'root_mismatch',
          detail: `the first ${h.tree_size} records do not produce the root signed at size ${h.tree_size}`,
          tree_size: h.tree_size,
        });
    }
    this.#appender = appender.append(leaves.slice(at)).appender;
  }

  #step(fn: () => void): boolean {
    if (this.failed) return false;
    try {
      fn();
      return true;
    } catch (err) {
      if (!(err instanceof Failed)) throw err;
      this.report.ok = false;
      this.report.failure = err.failure;
      return false;
    }
  }
}
