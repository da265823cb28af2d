import { describe, expect, it } from 'vitest';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { policyClient, sandboxRules, sandboxTests, uniqueName } from '../test/policy-fixtures.js';

for (const driver of drivers()) {
  describe(`policy lifecycle routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let api: ReturnType<typeof policyClient>;

    async function auditRecords(tenantId: string) {
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select('payload')
        .where('topic', '=', 'audit.record')
        .where('tenant_id', '=', tenantId)
        .orderBy('id')
        .execute();
      return rows.map((r) => r.payload as Record<string, unknown>).filter((p) => p.product === 'oversight');
    }

    it('onboards a tenant', async () => {
      a = await onboardTenant(t, 'policy-happy');
      api = policyClient(t, a.auth);
    });

    it('creates a policy with a draft, lists and reads it', async () => {
      const name = uniqueName('sandbox');
      const res = await api.create({
        name,
        description: 'sandbox guard',
        rules: sandboxRules,
        tests: sandboxTests,
      });
      expect(res.statusCode).toBe(201);
      const { policy, version } = res.json();
      expect(res.headers.location).toBe(`/v1/oversight/policies/${policy.id}`);
      expect(policy).toMatchObject({ name, latest_version: 1, active_version: null });
      expect(version).toMatchObject({ version: 1, state: 'draft', shadow: false, rules: sandboxRules });
      expect(version.transitions).toEqual([
        expect.objectContaining({ from: null, to: 'draft', actor: `api_key:${a.keyId}`, reason: 'created' }),
      ]);
      const list = await api.call('GET', '/v1/oversight/policies?limit=10');
      expect(list.json().items.map((p: { id: string }) => p.id)).toContain(policy.id);
      const got = await api.call('GET', `/v1/oversight/policies/${policy.id}`);
      expect(got.json()).toMatchObject({ id: policy.id, name });
    });

    it('goes draft → proposed → active, records who and why, and answers with the active version', async () => {
      const { policy } = (
        await api.create({ name: uniqueName(), rules: sandboxRules, tests: sandboxTests })
      ).json();
      const proposed = await api.transition(policy.id, 1, 'propose', { reason: 'ready for review' });
      expect(proposed.statusCode).toBe(200);
      expect(proposed.json()).toMatchObject({ state: 'proposed', proposed_by: `api_key:${a.keyId}` });

      const tested = await api.call('POST', `/v1/oversight/policies/${policy.id}/versions/1/test`, {});
      expect(tested.json()).toMatchObject({ passed: 4, failed: 0 });

      const enforced = await api.transition(policy.id, 1, 'enforce', { reason: 'approved by CAB-12' });
      expect(enforced.statusCode).toBe(200);
      expect(enforced.json()).toMatchObject({ state: 'active', enforced_by: `api_key:${a.keyId}` });
      expect(
        enforced.json().transitions.map((x: { to: string; reason: string }) => [x.to, x.reason]),
      ).toEqual([
        ['draft', 'created'],
        ['proposed', 'ready for review'],
        ['active', 'approved by CAB-12'],
      ]);
      expect((await api.call('GET', `/v1/oversight/policies/${policy.id}`)).json().active_version).toBe(1);

      const audit = await auditRecords(a.tenantId);
      expect(audit).toContainEqual(
        expect.objectContaining({
          event_type: 'policy.version.enforced',
          actor: `api_key:${a.keyId}`,
          resource_id: enforced.json().id,
          outcome: 'success',
          metadata: expect.objectContaining({ from: 'proposed', to: 'active', reason: 'approved by CAB-12' }),
        }),
      );
    });

    it('supersedes the active version on enforce, rolls back in one call, and revokes', async () => {
      const { policy } = (
        await api.create({ name: uniqueName(), rules: sandboxRules, tests: sandboxTests })
      ).json();
      await api.transition(policy.id, 1, 'propose');
      expect((await api.transition(policy.id, 1, 'enforce')).statusCode).toBe(200);
      const v2 = await api.addVersion(policy.id, {
        description: 'allow llm calls too',
        rules: [
          ...sandboxRules,
          { id: 'llm', actions: ['llm.call'], when: 'true', effect: 'allow', reason: 'ok' },
        ],
      });
      expect(v2.statusCode).toBe(201);
      expect(v2.json()).toMatchObject({ version: 2, state: 'draft' });
      await api.transition(policy.id, 2, 'propose');
      expect((await api.transition(policy.id, 2, 'enforce')).json().state).toBe('active');
      let versions = (await api.call('GET', `/v1/oversight/policies/${policy.id}/versions`)).json().items;
      expect(versions.map((v: { state: string }) => v.state)).toEqual(['superseded', 'active']);

      const rolled = await api.call('POST', `/v1/oversight/policies/${policy.id}/rollback`, {
        reason: 'v2 broke the nightly job',
      });
      expect(rolled.statusCode).toBe(200);
      expect(rolled.json()).toMatchObject({ version: 1, state: 'active' });
      versions = (await api.call('GET', `/v1/oversight/policies/${policy.id}/versions`)).json().items;
      expect(versions.map((v: { state: string }) => v.state)).toEqual(['active', 'superseded']);

      const explicit = await api.call('POST', `/v1/oversight/policies/${policy.id}/rollback`, {
        reason: 'fixed upstream',
        to_version: 2,
      });
      expect(explicit.json()).toMatchObject({ version: 2, state: 'active' });

      const revoked = await api.transition(policy.id, 2, 'revoke', { reason: 'incident 42' });
      expect(revoked.json()).toMatchObject({ state: 'revoked', revoked_by: `api_key:${a.keyId}` });
      expect((await api.call('GET', `/v1/oversight/policies/${policy.id}`)).json().active_version).toBeNull();
      const events = (await auditRecords(a.tenantId)).map((r) => r.event_type);
      expect(events).toEqual(
        expect.arrayContaining([
          'policy.version.superseded',
          'policy.version.rolled_back',
          'policy.version.revoked',
        ]),
      );
    });

    it('keeps one active version across the tenant’s policies', async () => {
      const p1 = (await api.create({ name: uniqueName(), rules: sandboxRules })).json().policy;
      const p2 = (await api.create({ name: uniqueName(), rules: sandboxRules })).json().policy;
      for (const p of [p1, p2]) await api.transition(p.id, 1, 'propose');
      await api.transition(p1.id, 1, 'enforce');
      await api.transition(p2.id, 1, 'enforce');
      expect((await api.call('GET', `/v1/oversight/policies/${p1.id}`)).json().active_version).toBeNull();
      expect((await api.call('GET', `/v1/oversight/policies/${p2.id}`)).json().active_version).toBe(1);
      const v1 = (await api.call('GET', `/v1/oversight/policies/${p1.id}/versions/1`)).json();
      expect(v1.state).toBe('superseded');
    });

    it('runs extra test cases given with the request', async () => {
      const { policy } = (await api.create({ name: uniqueName(), rules: sandboxRules })).json();
      const res = await api.call('POST', `/v1/oversight/policies/${policy.id}/versions/1/test`, {
        cases: [
          {
            name: 'exec by a trusted agent',
            input: { agent: { id: 'x', trust_level: 'trusted' }, action: 'sandbox.exec' },
            expect: { decision: 'deny' },
          },
        ],
      });
      expect(res.json()).toMatchObject({
        passed: 0,
        failed: 1,
        results: [{ passed: false, actual: { decision: 'allow', rule: 'sandboxes' } }],
      });
    });
  });
}
