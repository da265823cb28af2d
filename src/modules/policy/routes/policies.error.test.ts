import { describe, expect, it } from 'vitest';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { policyClient, sandboxRules, sandboxTests, uniqueName } from '../test/policy-fixtures.js';

for (const driver of drivers()) {
  describe(`policy lifecycle routes, errors (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let api: ReturnType<typeof policyClient>;

    const draft = async (rules: unknown[], tests: unknown[] = []) => {
      const res = await api.create({ name: uniqueName(), rules, tests });
      expect(res.statusCode).toBe(201);
      return res.json().policy.id as string;
    };

    it('onboards a tenant', async () => {
      a = await onboardTenant(t, 'policy-err');
      api = policyClient(t, a.auth);
    });

    it('refuses invalid CEL at propose with policy-expression-invalid naming the rule and position', async () => {
      const id = await draft([
        sandboxRules[2],
        { id: 'broken', when: "agent.tier == 'pro' &&\n  action > 5", effect: 'deny', reason: 'x' },
      ]);
      const res = await api.transition(id, 1, 'propose');
      expect(res.statusCode).toBe(422);
      const body = res.json();
      expect(body.type).toBe('/problems/policy-expression-invalid');
      expect(body.detail).toBe(
        "rule broken at line 2, column 10: found no matching overload for '>' applied to '(string, int)'",
      );
      expect(body.rule_errors).toEqual([expect.objectContaining({ rule_id: 'broken', line: 2, column: 10 })]);
      expect(body.field).toBe('body.rules.1.when');
      // Nothing moved: the draft is still a draft.
      expect((await api.call('GET', `/v1/oversight/policies/${id}/versions/1`)).json().state).toBe('draft');
    });

    it('refuses a syntax error the same way', async () => {
      const id = await draft([{ id: 'syntax', when: 'agent.tier ==', effect: 'deny', reason: 'x' }]);
      const res = await api.transition(id, 1, 'propose');
      expect(res.json()).toMatchObject({ type: '/problems/policy-expression-invalid', status: 422 });
      expect(res.json().detail).toMatch(/^rule syntax at line 1, column \d+: syntax error/);
    });

    it('refuses an unknown variable with policy-unknown-variable', async () => {
      const id = await draft([{ id: 'typo', when: "agnet.tier == 'free'", effect: 'deny', reason: 'x' }]);
      const res = await api.transition(id, 1, 'propose');
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({
        type: '/problems/policy-unknown-variable',
        detail: "rule typo at line 1, column 1: undeclared reference to 'agnet'",
      });
    });

    it('refuses an empty rule set with policy-rules-empty', async () => {
      const res = await api.create({ name: uniqueName(), rules: [] });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ type: '/problems/policy-rules-empty', field: 'body.rules' });
    });

    it('refuses inconsistent rules with policy-rule-invalid', async () => {
      const dup = await api.create({ name: uniqueName(), rules: [sandboxRules[2], sandboxRules[2]] });
      expect(dup.statusCode).toBe(422);
      expect(dup.json().type).toBe('/problems/policy-rule-invalid');
      const id = await draft([{ id: 'needs-spec', when: 'true', effect: 'require_approval', reason: 'x' }]);
      const res = await api.transition(id, 1, 'propose');
      expect(res.json()).toMatchObject({ type: '/problems/policy-rule-invalid' });
      expect(res.json().detail).toMatch(/needs an `approval` spec/);
    });

    it('refuses to enforce a version whose tests fail, listing the failing cases', async () => {
      const failing = [
        ...sandboxTests,
        {
          name: 'llm calls are allowed',
          input: { agent: { id: 'a1', trust_level: 'trusted' }, action: 'llm.call' },
          expect: { decision: 'allow' },
        },
      ];
      const id = await draft(sandboxRules, failing);
      expect((await api.transition(id, 1, 'propose')).statusCode).toBe(200);
      const res = await api.transition(id, 1, 'enforce');
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({
        type: '/problems/policy-tests-failed',
        failures: [
          {
            name: 'llm calls are allowed',
            passed: false,
            expected: { decision: 'allow' },
            actual: { decision: 'deny', rule: null },
          },
        ],
      });
      expect((await api.call('GET', `/v1/oversight/policies/${id}/versions/1`)).json().state).toBe(
        'proposed',
      );
    });

    it('refuses to enforce a draft that was never proposed', async () => {
      const id = await draft(sandboxRules);
      const res = await api.transition(id, 1, 'enforce');
      expect(res.statusCode).toBe(409);
      expect(res.json().type).toBe('/problems/policy-version-not-proposed');
    });

    it('lets exactly one of two concurrent enforce calls win; the other gets 409', async () => {
      const id = await draft(sandboxRules);
      await api.transition(id, 1, 'propose');
      const [r1, r2] = await Promise.all([
        api.transition(id, 1, 'enforce'),
        api.transition(id, 1, 'enforce'),
      ]);
      expect([r1.statusCode, r2.statusCode].sort()).toEqual([200, 409]);
      const loser = r1.statusCode === 409 ? r1 : r2;
      expect(loser.json().type).toBe('/problems/policy-concurrent-change');
      const versions = (await api.call('GET', `/v1/oversight/policies/${id}/versions`)).json().items;
      expect(versions[0].transitions.filter((x: { to: string }) => x.to === 'active')).toHaveLength(1);
    });

    it('lets one of two concurrent enforce calls of different versions win when both name the active version', async () => {
      const id = await draft(sandboxRules);
      await api.addVersion(id, { rules: sandboxRules });
      await api.transition(id, 1, 'propose');
      await api.transition(id, 2, 'propose');
      // The tenant's active version (from the tests above), as both callers read it.
      const all = (await api.call('GET', '/v1/oversight/policies?limit=200')).json().items;
      const holder = all.find((p: { active_version: number | null }) => p.active_version !== null);
      const expected = holder
        ? (
            await api.call('GET', `/v1/oversight/policies/${holder.id}/versions/${holder.active_version}`)
          ).json().id
        : null;
      const body = (n: number) => ({ reason: `race ${n}`, expected_active_version_id: expected });
      const [r1, r2] = await Promise.all([
        api.transition(id, 1, 'enforce', body(1)),
        api.transition(id, 2, 'enforce', body(2)),
      ]);
      expect([r1.statusCode, r2.statusCode].sort()).toEqual([200, 409]);
      expect((r1.statusCode === 409 ? r1 : r2).json().type).toBe('/problems/policy-concurrent-change');
      const states = (await api.call('GET', `/v1/oversight/policies/${id}/versions`))
        .json()
        .items.map((v: { state: string }) => v.state);
      expect(states.sort()).toEqual(['active', 'proposed']);
    });

    it('answers 409 for transitions from the wrong state and for a rollback with no target', async () => {
      const id = await draft(sandboxRules);
      await api.transition(id, 1, 'propose');
      const again = await api.transition(id, 1, 'propose');
      expect(again.json()).toMatchObject({ status: 409, type: '/problems/policy-invalid-transition' });
      const rollback = await api.call('POST', `/v1/oversight/policies/${id}/rollback`, { reason: 'x' });
      expect(rollback.json()).toMatchObject({ status: 409, type: '/problems/policy-rollback-unavailable' });
      await api.transition(id, 1, 'revoke');
      const revokedAgain = await api.transition(id, 1, 'revoke');
      expect(revokedAgain.json().type).toBe('/problems/policy-invalid-transition');
      const enforceRevoked = await api.transition(id, 1, 'enforce');
      expect(enforceRevoked.json().type).toBe('/problems/policy-invalid-transition');
    });

    it('answers not-found types and validation errors', async () => {
      const missing = '01936f6e-0000-7000-8000-000000000000';
      expect((await api.call('GET', `/v1/oversight/policies/${missing}`)).json().type).toBe(
        '/problems/policy-not-found',
      );
      const id = await draft(sandboxRules);
      expect((await api.call('GET', `/v1/oversight/policies/${id}/versions/9`)).json().type).toBe(
        '/problems/policy-version-not-found',
      );
      const name = uniqueName();
      await api.create({ name, rules: sandboxRules });
      const taken = await api.create({ name: name.toUpperCase(), rules: sandboxRules });
      expect(taken.json()).toMatchObject({ status: 409, type: '/problems/policy-name-taken' });
      const bad = await api.create({
        name: 'x',
        rules: [{ id: 'r', when: 'true', effect: 'maybe', reason: 'x' }],
      });
      expect(bad.json()).toMatchObject({ status: 400, type: '/problems/validation-failed' });
      const noReason = await api.transition(id, 1, 'propose', {});
      expect(noReason.json()).toMatchObject({ type: '/problems/validation-failed', field: 'body.reason' });
      const cursor = await api.call('GET', '/v1/oversight/policies?cursor=bogus');
      expect(cursor.json().type).toBe('/problems/invalid-cursor');
    });
  });
}
