import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import type { IdentityModule } from '../../identity/index.js';
import { treeHeadFromJson, verifyTreeHead } from '../tree-head.js';

for (const driver of drivers()) {
  describe(`compliance report (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const report = (framework: string, accept = 'application/json', range = `from=${from}&to=${to}`) =>
      t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/compliance/report?framework=${framework}&${range}`,
        headers: { ...a.auth, accept },
      });

    it('builds a tenant whose log holds access changes, approvals, policy changes and denials', async () => {
      a = await onboardTenant(t, 'compliance');
      const append = (event_type: string, outcome = 'success') =>
        t.node.app.inject({
          method: 'POST',
          url: '/v1/audit/log',
          headers: a.auth,
          payload: { product: 'oversight', event_type, action: event_type.split('.')[1]!, outcome },
        });
      for (const e of ['approval.requested', 'approval.granted', 'approval.granted', 'policy.updated'])
        expect((await append(e)).statusCode).toBe(201);
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      await t.node.app.inject({ method: 'GET', url: '/v1/audit/logs', headers: viewer.auth }); // a denial
      await (t.node.modules.find((m) => m.name === 'identity') as IdentityModule).flush();
      await t.node.bus.flush();
    });

    it('answers JSON with the counts, the controls and the signed tree head they were computed against', async () => {
      const res = await report('soc2');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      const r = res.json();
      expect(r).toMatchObject({
        framework: 'soc2',
        framework_name: expect.stringMatching(/SOC 2/),
        tenant_id: a.tenantId,
        period: { from, to },
        // Onboarding installed the default policy set: policy.created, policy.version.created,
        // .proposed and .enforced (4 oversight records, all policy changes), before the 4 above.
        summary: {
          denials: 1,
          evidence: { approvals: 3, policy_changes: 5, denials: 1 },
          by_product: { oversight: 8 },
        },
        redaction: { kinds: 'all' },
        retention_days: { messaging: 90, runtime: 365 },
      });
      expect(r.summary.evidence.access_changes).toBeGreaterThanOrEqual(1); // the viewer key's creation
      const controls = Object.fromEntries(r.controls.map((c: { id: string }) => [c.id, c]));
      expect(controls['CC8.1']).toMatchObject({
        status: 'evidence_present',
        event_types: { 'policy.updated': 1 },
      });
      expect(controls['CC8.1'].records).toBe(
        Object.values(controls['CC8.1'].event_types as Record<string, number>).reduce((x, y) => x + y, 0),
      );
      expect(controls['CC7.3']).toMatchObject({
        status: 'evidence_present',
        event_types: { 'authorization.denied': 1 },
      });
      expect(controls['CC7.2'].records).toBe(r.summary.records);
      // The head covers exactly the records counted, and it verifies with the deployment key.
      const logs = await t.node.app.inject({
        method: 'GET',
        url: '/v1/audit/logs?limit=200',
        headers: a.auth,
      });
      expect(r.tree_head.tree_size).toBe(logs.json().items.length);
      expect(r.summary.records).toBe(r.tree_head.tree_size);
      const key = await t.node.app.inject({ method: 'GET', url: '/v1/audit/key', headers: a.auth });
      const { head, signature } = treeHeadFromJson(r.tree_head);
      expect(verifyTreeHead(createPublicKey(key.json().public_key_pem), head, signature)).toEqual({
        ok: true,
      });
      expect(head.logId).toBe(a.tenantId);
    });

    it('maps the same evidence under each framework’s controls', async () => {
      for (const [framework, id] of [
        ['iso27001', 'A.8.32'],
        ['gdpr', 'Art. 30'],
        ['nis2', 'Art. 21(2)(g)'],
      ] as const) {
        const r = (await report(framework)).json();
        expect(r.framework).toBe(framework);
        expect(r.controls.find((c: { id: string }) => c.id === id).status).toBe('evidence_present');
      }
    });

    it('says "no evidence in period" for a period without records', async () => {
      const r = (
        await report('soc2', 'application/json', 'from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z')
      ).json();
      expect(r.summary.records).toBe(0);
      expect(r.controls.every((c: { status: string }) => c.status === 'no_evidence_in_period')).toBe(true);
      expect(r.tree_head.log_id).toBe(a.tenantId);
    });

    it('answers a readable HTML page for Accept: text/html, with the tree head and a strict CSP', async () => {
      const json = (await report('soc2')).json();
      const res = await report('soc2', 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy']).not.toMatch(/script-src/);
      const html = res.body;
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('SOC 2');
      expect(html).toContain(`tree size <strong>${json.tree_head.tree_size}</strong>`);
      expect(html).toContain(json.tree_head.sha256_root_hash);
      expect(html).toContain('CC8.1');
      expect(html).toContain('policy.updated (1)');
      expect(html).not.toMatch(/<script/i);
      // JSON still wins when the client prefers it.
      const preferJson = await report('soc2', 'application/json, text/html');
      expect(preferJson.headers['content-type']).toMatch(/application\/json/);
    });

    it('follows the approvals requested in the period to their decisions and judges each against its SLA', async () => {
      const b = await onboardTenant(t, 'compliance-approvals');
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const event = async (id: string, type: string, metadata: Record<string, unknown> = {}) => {
        const res = await t.node.app.inject({
          method: 'POST',
          url: '/v1/audit/log',
          headers: b.auth,
          payload: {
            product: 'approvals',
            event_type: `approval.${type}`,
            resource_id: id,
            action: type,
            outcome: 'success',
            metadata,
          },
        });
        expect(res.statusCode, res.body).toBe(201);
      };
      const HOUR = { sla_seconds: 3600 };
      const INSTANT = { sla_seconds: 0.000001 }; // any real decision is later than this
      await event('apr_before', 'requested', HOUR); // requested before the period: not counted
      await sleep(10);
      const periodFrom = new Date().toISOString();
      await event('apr_a', 'requested', HOUR);
      await event('apr_b', 'requested', INSTANT);
      await event('apr_c', 'requested', HOUR);
      await event('apr_d', 'requested'); // no SLA
      await event('apr_e', 'requested', INSTANT);
      await event('apr_h', 'requested', HOUR);
      await event('apr_stranger', 'approved'); // a decision whose request is not in the period
      await event('apr_before', 'approved');
      await event('apr_a', 'approved'); // within its hour: met
      await sleep(10);
      await event('apr_b', 'rejected'); // after its SLA: breached
      await event('apr_c', 'escalated');
      await event('apr_c', 'expired'); // expired: breached
      await event('apr_h', 'cancelled'); // withdrawn within its SLA: neither
      await sleep(10);
      // d and e stay open; e is past its SLA at the head's time.
      await event('apr_unrelated', 'noted');
      const res = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/compliance/report?framework=soc2&from=${periodFrom}&to=${to}`,
        headers: b.auth,
      });
      expect(res.statusCode).toBe(200);
      const approvals = res.json().summary.approvals;
      expect(approvals).toMatchObject({
        requested: 6,
        approved: 1,
        rejected: 1,
        expired: 1,
        cancelled: 1,
        escalated: 1,
        open: 2,
        sla: { with_sla: 5, met: 1, breached: 3, met_ratio: 0.25 },
      });
      // Two decisions (a, b): b waited at least the 10 ms pause.
      expect(approvals.decision_seconds.max).toBeGreaterThanOrEqual(0.01);
      expect(approvals.decision_seconds.p50).toBeLessThanOrEqual(approvals.decision_seconds.p90);
      const html = (
        await t.node.app.inject({
          method: 'GET',
          url: `/v1/audit/compliance/report?framework=soc2&from=${periodFrom}&to=${to}`,
          headers: { ...b.auth, accept: 'text/html' },
        })
      ).body;
      expect(html).toContain('Approvals and their SLAs');
      expect(html).toContain(
        '6 approvals requested in the period: 1 approved, 1 rejected, 1 expired, 1 cancelled, 2 still open; 1 escalated.',
      );
      expect(html).toContain('25.0 %');
      // The tenant of the earlier tests appended approval records without approval ids: nothing to follow.
      expect((await report('soc2')).json().summary.approvals).toMatchObject({
        requested: 0,
        sla: { met_ratio: null },
      });
    });
  });
}
