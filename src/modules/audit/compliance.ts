/**
 * Compliance reports: what the tenant's audit log holds for a period, arranged under the controls
 * of one framework, with the signed tree head the numbers were computed against (so an auditor
 * can ask for an inclusion proof of any record counted here).
 *
 * The mapping from controls to record kinds is deliberately coarse and documented here: a control
 * lists the event-type prefixes that evidence it; the report counts them and says "evidence
 * present" or "no evidence in period". It does not claim compliance; it organises evidence.
 *
 * Approvals and their SLAs are read from these records, one approval per `resource_id` (its id):
 *   approval.requested  metadata.sla_seconds: the time the request had to be decided in (optional)
 *   approval.approved · approval.rejected  the decision
 *   approval.expired    the SLA (or the request's deadline) ran out undecided
 *   approval.cancelled  withdrawn undecided
 *   approval.escalated  sent on to the next approvers (any number)
 * The approvals module writes them; any other system can append them through POST /v1/audit/log.
 * The report takes the requests made in the period and follows each to its decision among the
 * leaves the signed head covers (a decision after the period still counts): an SLA is met when the
 * decision came within `sla_seconds`, breached when it came later, or the request expired, or it is
 * still open past its SLA at the head's time.
 */
import type { ApprovalStatsRow } from './store.js';
import type { SignedTreeHeadJson } from './tree-head.js';

export type Framework = 'soc2' | 'iso27001' | 'gdpr' | 'nis2';

interface ControlSpec {
  id: string;
  title: string;
  /** Event-type prefixes (or `*`) whose records evidence the control. */
  evidence: string[];
}

const LOGGING = ['*'];
const ACCESS = ['authorization.', 'api_key.', 'user.', 'session.', 'agent.', 'delegation.'];
const CHANGE = ['policy.', 'tenant.', 'settings.'];
const INCIDENT = ['authorization.denied', 'quota.', 'budget.', 'sandbox.'];
const APPROVAL = ['approval.'];

/** The kinds of evidence the summary counts (issue 5 item 10), by event-type prefix. */
const EVIDENCE_KINDS = {
  access_changes: ['api_key.', 'user.', 'agent.', 'delegation.', 'session.', 'role.'],
  approvals: APPROVAL,
  policy_changes: ['policy.'],
  denials: ['authorization.denied'],
  incidents: ['incident.', 'quota.', 'budget.'],
} as const;
type EvidenceKind = keyof typeof EVIDENCE_KINDS;

export const FRAMEWORKS: Record<Framework, { name: string; controls: ControlSpec[] }> = {
  soc2: {
    name: 'SOC 2 (Trust Services Criteria 2017)',
    controls: [
      { id: 'CC6.1', title: 'Logical access security', evidence: ACCESS },
      { id: 'CC6.3', title: 'Access authorised, modified and removed', evidence: [...ACCESS, ...APPROVAL] },
      { id: 'CC7.2', title: 'System monitoring for anomalies', evidence: LOGGING },
      { id: 'CC7.3', title: 'Evaluation of security events', evidence: INCIDENT },
      { id: 'CC8.1', title: 'Change management', evidence: CHANGE },
    ],
  },
  iso27001: {
    name: 'ISO/IEC 27001:2022 Annex A',
    controls: [
      { id: 'A.5.15', title: 'Access control', evidence: ACCESS },
      { id: 'A.5.18', title: 'Access rights', evidence: [...ACCESS, ...APPROVAL] },
      { id: 'A.8.15', title: 'Logging', evidence: LOGGING },
      { id: 'A.8.16', title: 'Monitoring activities', evidence: INCIDENT },
      { id: 'A.8.32', title: 'Change management', evidence: CHANGE },
    ],
  },
  gdpr: {
    name: 'GDPR (Regulation (EU) 2016/679)',
    controls: [
      { id: 'Art. 5(1)(e)', title: 'Storage limitation (payload retention)', evidence: LOGGING },
      { id: 'Art. 30', title: 'Records of processing activities', evidence: LOGGING },
      { id: 'Art. 32', title: 'Security of processing (access control, redaction)', evidence: ACCESS },
    ],
  },
  nis2: {
    name: 'NIS2 (Directive (EU) 2022/2555)',
    controls: [
      { id: 'Art. 21(2)(b)', title: 'Incident handling', evidence: INCIDENT },
      { id: 'Art. 21(2)(i)', title: 'Access control policies', evidence: ACCESS },
      { id: 'Art. 21(2)(g)', title: 'Cyber hygiene and change control', evidence: CHANGE },
      { id: 'Art. 23', title: 'Reporting obligations (evidence trail)', evidence: LOGGING },
    ],
  },
};

export interface PeriodRow {
  product: string;
  event_type: string;
  outcome: string | null;
  n: number;
  expired: number;
}

export interface ApprovalSummary
  extends Pick<
    ApprovalStatsRow,
    'requested' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'escalated' | 'open'
  > {
  sla: { with_sla: number; met: number; breached: number; met_ratio: number | null };
  /** Seconds from request to decision, over the decided requests; null when none was decided. */
  decision_seconds: { p50: number | null; p90: number | null; max: number | null };
}

function approvalSummary(a: ApprovalStatsRow): ApprovalSummary {
  const judged = a.sla_met + a.sla_breached;
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    requested: a.requested,
    approved: a.approved,
    rejected: a.rejected,
    expired: a.expired,
    cancelled: a.cancelled,
    escalated: a.escalated,
    open: a.open,
    sla: {
      with_sla: a.with_sla,
      met: a.sla_met,
      breached: a.sla_breached,
      met_ratio: judged === 0 ? null : Math.round((a.sla_met / judged) * 10_000) / 10_000,
    },
    decision_seconds: { p50: round(a.decision_p50), p90: round(a.decision_p90), max: round(a.decision_max) },
  };
}

export interface ComplianceReport {
  framework: Framework;
  framework_name: string;
  tenant_id: string;
  period: { from: string; to: string };
  generated_at: string;
  tree_head: SignedTreeHeadJson;
  summary: {
    records: number;
    expired_records: number;
    by_product: Record<string, number>;
    by_outcome: Record<string, number>;
    denials: number;
    /** Records per kind of evidence (a record can count under one kind only). */
    evidence: Record<EvidenceKind, number>;
    approvals: ApprovalSummary;
  };
  controls: {
    id: string;
    title: string;
    status: 'evidence_present' | 'no_evidence_in_period';
    records: number;
    event_types: Record<string, number>;
  }[];
  redaction: { kinds: string[] | 'all' | 'off' };
  retention_days: Record<string, number>;
}

function matches(prefixes: string[], eventType: string): boolean {
  return prefixes.some((p) => p === '*' || eventType === p || (p.endsWith('.') && eventType.startsWith(p)));
}

/**
 * @example
 *   const report = buildComplianceReport('soc2', { tenantId, from, to, rows, head, generatedAt, settings });
 */
export function buildComplianceReport(
  framework: Framework,
  input: {
    tenantId: string;
    from: string;
    to: string;
    rows: PeriodRow[];
    approvals: ApprovalStatsRow;
    head: SignedTreeHeadJson;
    generatedAt: string;
    redactionKinds: string[] | null;
    retentionDays: Record<string, number>;
  },
): ComplianceReport {
  const spec = FRAMEWORKS[framework];
  const byProduct: Record<string, number> = {};
  const byOutcome: Record<string, number> = {};
  let records = 0;
  let expired = 0;
  let denials = 0;
  const evidence = Object.fromEntries(Object.keys(EVIDENCE_KINDS).map((k) => [k, 0])) as Record<
    EvidenceKind,
    number
  >;
  for (const r of input.rows) {
    const kind = (Object.keys(EVIDENCE_KINDS) as EvidenceKind[]).find((k) =>
      matches([...EVIDENCE_KINDS[k]], r.event_type),
    );
    if (kind) evidence[kind] += r.n;
    records += r.n;
    expired += r.expired;
    byProduct[r.product] = (byProduct[r.product] ?? 0) + r.n;
    const o = r.outcome ?? 'expired';
    byOutcome[o] = (byOutcome[o] ?? 0) + r.n;
    if (r.outcome === 'denied' || r.outcome === 'deny') denials += r.n;
  }
  return {
    framework,
    framework_name: spec.name,
    tenant_id: input.tenantId,
    period: { from: input.from, to: input.to },
    generated_at: input.generatedAt,
    tree_head: input.head,
    summary: {
      records,
      expired_records: expired,
      by_product: byProduct,
      by_outcome: byOutcome,
      denials,
      evidence,
      approvals: approvalSummary(input.approvals),
    },
    controls: spec.controls.map((c) => {
      const eventTypes: Record<string, number> = {};
      let n = 0;
      for (const r of input.rows) {
        if (!matches(c.evidence, r.event_type)) continue;
        eventTypes[r.event_type] = (eventTypes[r.event_type] ?? 0) + r.n;
        n += r.n;
      }
      return {
        id: c.id,
        title: c.title,
        status: n > 0 ? 'evidence_present' : 'no_evidence_in_period',
        records: n,
        event_types: eventTypes,
      };
    }),
    redaction: {
      kinds:
        input.redactionKinds === null
          ? 'all'
          : input.redactionKinds.length === 0
            ? 'off'
            : input.redactionKinds,
    },
    retention_days: input.retentionDays,
  };
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function approvalsHtml(a: ApprovalSummary): string {
  if (a.requested === 0) return '<p>No approval was requested in the period.</p>';
  const secs = (v: number | null) => (v === null ? '—' : `${v} s`);
  const ratio = a.sla.met_ratio === null ? '—' : `${(a.sla.met_ratio * 100).toFixed(1)} %`;
  return `<p>${a.requested} approvals requested in the period: ${a.approved} approved, ${a.rejected} rejected, ${a.expired} expired, ${a.cancelled} cancelled, ${a.open} still open; ${a.escalated} escalated.</p>
<table><tr><th>SLA</th><th>requests</th></tr><tr><td>with an SLA</td><td class="n">${a.sla.with_sla}</td></tr>
<tr><td>met</td><td class="n ok">${a.sla.met}</td></tr><tr><td>breached (late, expired, or open past it)</td><td class="n gap">${a.sla.breached}</td></tr>
<tr><td>met, of those judged</td><td class="n">${ratio}</td></tr></table>
<table><tr><th>time to decision</th><th>seconds</th></tr><tr><td>median</td><td class="n">${secs(a.decision_seconds.p50)}</td></tr>
<tr><td>90th percentile</td><td class="n">${secs(a.decision_seconds.p90)}</td></tr><tr><td>longest</td><td class="n">${secs(a.decision_seconds.max)}</td></tr></table>`;
}

/** A self-contained HTML page of the report (no scripts, inline styles only). */
export function renderComplianceHtml(r: ComplianceReport): string {
  const rows = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="n">${v}</td></tr>`)
      .join('');
  const controls = r.controls
    .map(
      (c) =>
        `<tr><td>${esc(c.id)}</td><td>${esc(c.title)}</td><td class="${c.status === 'evidence_present' ? 'ok' : 'gap'}">${
          c.status === 'evidence_present' ? 'evidence present' : 'no evidence in period'
        }</td><td class="n">${c.records}</td><td>${Object.entries(c.event_types)
          .map(([k, v]) => `${esc(k)} (${v})`)
          .join(', ')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.framework_name)} audit evidence report</title>
<style>body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;margin:1rem 0;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}
.n{text-align:right}.ok{color:#176f2c}.gap{color:#a33}code{word-break:break-all}</style></head>
<body>
<h1>${esc(r.framework_name)} — audit evidence report</h1>
<p>Tenant <code>${esc(r.tenant_id)}</code>, period ${esc(r.period.from)} to ${esc(r.period.to)}, generated ${esc(r.generated_at)}.</p>
<h2>Signed tree head</h2>
<p>Computed against the tenant's audit log at tree size <strong>${r.tree_head.tree_size}</strong>, signed at
${esc(new Date(r.tree_head.timestamp).toISOString())}; root <code>${esc(r.tree_head.sha256_root_hash)}</code>,
signature <code>${esc(r.tree_head.tree_head_signature)}</code>. Verify it with the deployment key (GET /v1/audit/key).</p>
<h2>Summary</h2>
<p>${r.summary.records} records (${r.summary.expired_records} with payloads expired under retention), ${r.summary.denials} denials.</p>
<table><tr><th>product</th><th>records</th></tr>${rows(r.summary.by_product)}</table>
<table><tr><th>outcome</th><th>records</th></tr>${rows(r.summary.by_outcome)}</table>
<table><tr><th>evidence</th><th>records</th></tr>${rows(r.summary.evidence)}</table>
<h2>Approvals and their SLAs</h2>
${approvalsHtml(r.summary.approvals)}
<h2>Controls</h2>
<table><tr><th>control</th><th>title</th><th>status</th><th>records</th><th>event types</th></tr>${controls}</table>
<h2>Data protection</h2>
<p>Redaction before storage: ${esc(Array.isArray(r.redaction.kinds) ? r.redaction.kinds.join(', ') : r.redaction.kinds)}.</p>
<table><tr><th>product</th><th>payload retention (days)</th></tr>${rows(r.retention_days)}</table>
</body></html>
`;
}
