import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { policyClient, uniqueName } from '../test/policy-fixtures.js';

const myTemplate = (name: string, visibility: 'private' | 'public') => ({
  name,
  visibility,
  parameters: [{ name: 'limit', type: 'integer', description: 'max retries', default: 3 }],
  rules: [
    {
      id: 'too-many',
      when: 'has(context.retries) && context.retries > {{limit}}',
      effect: 'deny',
      reason: 'too many retries',
    },
    { id: 'ok', when: 'true', effect: 'allow', reason: 'ok' },
  ],
  tests: [
    {
      name: 'few',
      input: { agent: { id: 'a' }, action: 'job.run', context: { retries: 1 } },
      expect: { decision: 'allow' },
    },
  ],
});

for (const driver of drivers()) {
  describe(`template routes (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let b: OnboardedTenant;

    it('sets up two tenants', async () => {
      a = await onboardTenant(t, 'tpl-a');
      b = await onboardTenant(t, 'tpl-b');
    });

    it('lists the catalogue and installs the high-cost sandbox template as a draft that can be enforced', async () => {
      const api = policyClient(t, a.auth);
      const list = await api.call('GET', '/v1/oversight/templates');
      expect(list.json().items.filter((x: { builtin: boolean }) => x.builtin)).toHaveLength(8);
      const got = await api.call('GET', '/v1/oversight/templates/high-cost-sandbox-approval');
      expect(got.json()).toMatchObject({
        builtin: true,
        parameters: [{ name: 'max_cost' }, { name: 'max_risk' }],
      });
      const deployed = await api.call('POST', '/v1/oversight/templates/high-cost-sandbox-approval/deploy', {
        name: uniqueName('sandbox-guard'),
        parameters: { max_cost: 20 },
      });
      expect(deployed.statusCode).toBe(201);
      const { policy, version } = deployed.json();
      expect(version).toMatchObject({
        state: 'draft',
        source: { template: 'high-cost-sandbox-approval', template_version: 1, parameters: { max_cost: 20 } },
      });
      expect(version.rules[0].when).toContain('context.estimated_cost > 20.0');
      await api.transition(policy.id, 1, 'propose');
      expect((await api.transition(policy.id, 1, 'enforce')).json().state).toBe('active');
    });

    it('refuses bad parameters and unknown templates', async () => {
      const api = policyClient(t, a.auth);
      const bad = await api.call('POST', '/v1/oversight/templates/budget-guard/deploy', {
        name: uniqueName(),
        parameters: { daily_budget: 'a lot' },
      });
      expect(bad.json()).toMatchObject({
        status: 422,
        type: '/problems/policy-template-parameter-invalid',
        field: 'body.parameters.daily_budget',
      });
      const missing = await api.call('GET', '/v1/oversight/templates/no-such-template');
      expect(missing.json()).toMatchObject({ status: 404, type: '/problems/policy-template-not-found' });
    });

    it('publishes private and public templates with versions; others see only public ones, deploy and fork them', async () => {
      const admin = await createKey(t, a.auth, { name: 'tpl-admin', role: 'admin' });
      const api = policyClient(t, admin.auth);
      const priv = (
        await api.call('POST', '/v1/oversight/templates', myTemplate(uniqueName('priv'), 'private'))
      ).json();
      const pub = await api.call('POST', '/v1/oversight/templates', myTemplate(uniqueName('pub'), 'public'));
      expect(pub.statusCode).toBe(201);
      expect(pub.json()).toMatchObject({ version: 1, owned: true, visibility: 'public' });
      const v2 = await api.call('POST', `/v1/oversight/templates/${pub.json().ref}/versions`, {
        ...myTemplate('', 'public'),
        name: undefined,
        visibility: undefined,
      });
      expect(v2.statusCode).toBe(201);
      expect(v2.json()).toMatchObject({ version: 2, versions: [1, 2] });

      const other = policyClient(t, b.auth);
      expect((await other.call('GET', `/v1/oversight/templates/${priv.ref}`)).statusCode).toBe(404);
      expect((await other.call('GET', `/v1/oversight/templates/${pub.json().ref}`)).json()).toMatchObject({
        owned: false,
        version: 2,
      });
      const refs = (await other.call('GET', '/v1/oversight/templates'))
        .json()
        .items.map((x: { ref: string }) => x.ref);
      expect(refs).toContain(pub.json().ref);
      expect(refs).not.toContain(priv.ref);
      const deployed = await other.call('POST', `/v1/oversight/templates/${pub.json().ref}/deploy`, {
        name: uniqueName(),
        version: 1,
        parameters: { limit: 5 },
      });
      expect(deployed.statusCode).toBe(201);
      const notOwned = await other.call('POST', `/v1/oversight/templates/${pub.json().ref}/versions`, {
        parameters: [],
        rules: [{ id: 'x', when: 'true', effect: 'allow', reason: 'x' }],
      });
      expect(notOwned.json()).toMatchObject({ status: 403, type: '/problems/policy-template-not-owned' });
      const fork = await other.call('POST', `/v1/oversight/templates/${pub.json().ref}/fork`, {
        name: uniqueName('fork'),
      });
      expect(fork.statusCode).toBe(201);
      expect(fork.json()).toMatchObject({
        owned: true,
        visibility: 'private',
        forked_from: `${pub.json().ref}@2`,
      });
    });

    it('refuses to publish a template whose own tests fail', async () => {
      const tpl = myTemplate(uniqueName(), 'private');
      tpl.tests[0]!.expect.decision = 'deny';
      const res = await policyClient(t, a.auth).call('POST', '/v1/oversight/templates', tpl);
      expect(res.json()).toMatchObject({ status: 422, type: '/problems/policy-tests-failed' });
    });
  });
}
