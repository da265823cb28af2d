/**
 * The default policy set at onboarding, on every driver: identity publishes
 * `identity.tenant.onboarded`, the bus delivers it to this module's consumer, and the tenant ends
 * up with an active `default` policy that evaluate answers from. Redelivery changes nothing; a
 * tenant that wrote its own policy first keeps it.
 */
import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../test/support/warden.js';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_SET } from './default-policy.js';
import type { PolicyModule } from './index.js';
import { ONBOARDING_CONSUMER } from './onboarding.js';
import { agentWithToken, policyClient } from './test/policy-fixtures.js';

for (const driver of drivers()) {
  describe(`default policy set at onboarding (${driver.name})`, () => {
    // A short head poll: the install commits with the delivery, after this node's cache was dropped.
    const t = useWarden(driver);
    const policyModule = () => t.node.modules.find((m) => m.name === 'policy') as PolicyModule;

    async function policiesOf(auth: Record<string, string>) {
      const res = await policyClient(t, auth).call('GET', '/v1/oversight/policies?limit=50');
      expect(res.statusCode, res.body).toBe(200);
      return res.json().items as { id: string; name: string; active_version: number | null }[];
    }

    it('installs the default set as the active version, and evaluate answers from it', async () => {
      const a = await onboardTenant(t, 'policy-onboarding');
      await expect
        .poll(async () => (await policiesOf(a.auth)).map((p) => [p.name, p.active_version]), {
          timeout: 10_000,
          interval: 50,
        })
        .toEqual([[DEFAULT_POLICY_NAME, 1]]);
      const [policy] = await policiesOf(a.auth);
      const version = (
        await policyClient(t, a.auth).call('GET', `/v1/oversight/policies/${policy!.id}/versions/1`)
      ).json();
      expect(version).toMatchObject({
        state: 'active',
        source: { default_policy_set: DEFAULT_POLICY_SET },
        transitions: [
          { from: null, to: 'draft' },
          { from: 'draft', to: 'proposed' },
          { from: 'proposed', to: 'active', reason: 'installed at onboarding' },
        ],
      });

      // A new agent is untrusted: cheap calls pass, costly ones wait, a privileged exec is refused.
      const { agentId, token } = await agentWithToken(t, a.key, a.auth);
      const key = await createKey(t, a.auth, { name: 'gateway', role: 'developer' });
      const ask = async (action: string, context: Record<string, unknown>) => {
        const res = await t.node.app.inject({
          method: 'POST',
          url: '/v1/oversight/evaluate',
          headers: key.auth,
          payload: {
            agent_id: agentId,
            action,
            resource: { id: 'sandbox:s1' },
            context,
            delegation_token: token,
          },
        });
        expect(res.statusCode, res.body).toBe(200);
        return res.json();
      };
      // The install commits after the consumer returns: other caches catch up within the head poll.
      await expect
        .poll(async () => (await ask('sandbox.create', { estimated_cost: 5 })).policy?.policy_id, {
          timeout: 5_000,
          interval: 100,
        })
        .toBe(policy!.id);
      expect(await ask('sandbox.create', { estimated_cost: 5 })).toMatchObject({
        decision: 'allow',
        rule_ids: ['allow-otherwise'],
        policy: { policy_id: policy!.id, version: 1 },
      });
      expect(await ask('sandbox.create', { estimated_cost: 250 })).toMatchObject({
        decision: 'pending_approval',
        rule_ids: ['approve-high-cost'],
        approval: { rule_id: 'approve-high-cost' },
      });
      expect(await ask('sandbox.exec', { privileged: true })).toMatchObject({
        decision: 'deny',
        rule_ids: ['deny-untrusted-risky'],
      });

      // At-least-once: the same event handled again (a replay) installs nothing more.
      const consumer = policyModule().consumers!().find((c) => c.name === ONBOARDING_CONSUMER)!;
      const event = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['id', 'topic', 'tenant_id', 'payload', 'created_at'])
        .where('topic', '=', 'identity.tenant.onboarded')
        .where('tenant_id', '=', a.tenantId)
        .executeTakeFirstOrThrow();
      await t.node.db.transaction((trx) =>
        consumer.handle(
          {
            id: event.id as string,
            topic: event.topic as string,
            tenantId: event.tenant_id as string,
            payload: event.payload as Record<string, unknown>,
            createdAt: new Date(event.created_at as string).toISOString(),
          },
          trx,
        ),
      );
      expect((await policiesOf(a.auth)).map((p) => [p.name, p.active_version])).toEqual([
        [DEFAULT_POLICY_NAME, 1],
      ]);
    }, 60_000);

    it('leaves a tenant that wrote its own policy before onboarding without the default', async () => {
      const created = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: `own-policy-${process.pid}-${Date.now()}` },
      });
      const tenantId = created.json().id as string;
      const own = await policyClient(t, t.auth).create(
        { name: 'mine', rules: [{ id: 'all', when: 'true', effect: 'allow', reason: 'mine' }] },
        { ...t.auth, 'x-warden-tenant': tenantId },
      );
      expect(own.statusCode, own.body).toBe(201);
      const onboard = await t.node.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/onboard`,
        headers: t.auth,
        payload: {
          owner_email: `own-${process.pid}-${Date.now()}@example.com`,
          owner_password: 'correct horse battery staple',
        },
      });
      expect(onboard.statusCode, onboard.body).toBe(201);
      const auth = { authorization: `Bearer ${onboard.json().api_key.key}` };
      // Delivered (marked done) without installing anything.
      await expect
        .poll(
          async () =>
            (
              await t.node.db.kysely
                .selectFrom('platform.event_deliveries as d')
                .innerJoin('platform.outbox as o', 'o.id', 'd.event_id')
                .select('d.status')
                .where('d.consumer', '=', ONBOARDING_CONSUMER)
                .where('o.tenant_id', '=', tenantId)
                .executeTakeFirst()
            )?.status,
          { timeout: 10_000, interval: 50 },
        )
        .toBe('done');
      expect((await policiesOf(auth)).map((p) => [p.name, p.active_version])).toEqual([['mine', null]]);
    }, 60_000);
  });
}
