/**
 * The decision path end to end on a full node: a registered agent signs POST /v1/oversight/evaluate
 * (RFC 9421) with a delegation token minted by the authz module, and the active policy answers.
 */
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted with toMatchObject.
type Json = any;

import { TestAgent } from '../../../../test/support/agent-client.js';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { registrationMessage } from '../../identity/agent-keys.js';
import type { PolicyModule } from '../index.js';
import { policyClient, sandboxRules, sandboxTests, uniqueName } from '../test/policy-fixtures.js';

for (const driver of drivers()) {
  describe(`evaluate routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let api: ReturnType<typeof policyClient>;
    const agent = new TestAgent();
    let token = '';
    let policyId = '';
    const policyModule = () => t.node.modules.find((m) => m.name === 'policy') as PolicyModule;

    async function signedEvaluate(body: Record<string, unknown>, path = '/v1/oversight/evaluate') {
      const url = `${t.node.url}${path}`;
      const text = JSON.stringify(body);
      const res = await fetch(url, {
        method: 'POST',
        headers: agent.signedHeaders('POST', url, text),
        body: text,
      });
      return { status: res.status, body: (await res.json()) as Record<string, Json> };
    }

    it('registers an agent, mints its token and enforces a policy', async () => {
      a = await onboardTenant(t, 'evaluate-happy');
      api = policyClient(t, a.auth);
      const ch = await t.node.app.inject({ method: 'POST', url: '/v1/agents/challenge', headers: a.auth });
      const { challenge } = ch.json();
      const reg = await t.node.app.inject({
        method: 'POST',
        url: '/v1/agents',
        headers: a.auth,
        payload: {
          name: 'builder',
          public_key: agent.publicKey,
          challenge,
          signature: agent.signMessage(registrationMessage(a.tenantId, challenge, agent.publicKey)),
          tier: 'standard',
        },
      });
      expect(reg.statusCode).toBe(201);
      agent.id = reg.json().id;
      const minted = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations',
        headers: a.auth,
        payload: { agent_id: agent.id, actions: ['sandbox.*'], resources: ['sandbox:*'] },
      });
      expect(minted.statusCode, minted.body).toBe(201);
      token = minted.json().token;
      const created = await api.create({ name: uniqueName(), rules: sandboxRules, tests: sandboxTests });
      policyId = created.json().policy.id;
      await api.transition(policyId, 1, 'propose');
      expect((await api.transition(policyId, 1, 'enforce')).statusCode).toBe(200);
    });

    it('answers allow, pending_approval and deny to a signed agent request', async () => {
      // New agents are untrusted: `sandbox.exec` is denied by rule, costly sandboxes need approval.
      const allow = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:small' },
        context: { estimated_cost: 5 },
        delegation_token: token,
      });
      expect(allow.status).toBe(200);
      expect(allow.body).toMatchObject({
        decision: 'allow',
        rule_ids: ['sandboxes'],
        reasons: ['sandboxes are allowed'],
        policy: { policy_id: policyId, version: 1 },
        approval_id: null,
      });
      const pending = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:big' },
        context: { estimated_cost: 80 },
        delegation_token: token,
      });
      expect(pending.body).toMatchObject({
        decision: 'pending_approval',
        rule_ids: ['costly-sandbox'],
        approval: { rule_id: 'costly-sandbox', spec: { stages: [{ quorum: 1 }] } },
      });
      const deny = await signedEvaluate({
        action: 'sandbox.exec',
        resource: { id: 'sandbox:x' },
        delegation_token: token,
      });
      expect(deny.body).toMatchObject({ decision: 'deny', rule_ids: ['no-untrusted-exec'] });
      expect(deny.body.risk.factors.map((f: { name: string }) => f.name)).toContain('untrusted_agent');

      // Decision records reach the tenant's audit log through the audit module's in-process append.
      await policyModule().flush();
      await (t.node.modules.find((m) => m.name === 'audit') as unknown as { flush(): Promise<void> }).flush();
      const logs = await t.node.app.inject({
        method: 'GET',
        url: '/v1/audit/logs?event_type=decision.made&limit=200',
        headers: a.auth,
      });
      expect(logs.statusCode, logs.body).toBe(200);
      const made = logs.json().items as Record<string, Json>[];
      expect(made).toContainEqual(
        expect.objectContaining({
          product: 'oversight',
          actor: `agent:${agent.id}`,
          action: 'sandbox.create',
          outcome: 'pending_approval',
          resource_id: 'sandbox:big',
          metadata: expect.objectContaining({
            decision_id: pending.body.decision_id,
            rule_ids: ['costly-sandbox'],
          }),
        }),
      );
    });

    it('lets an API key of the tenant evaluate for one of its agents with that agent’s token', async () => {
      const key = await createKey(t, a.auth, { name: 'gateway', role: 'developer' });
      const ask = (body: Record<string, unknown>) =>
        t.node.app.inject({
          method: 'POST',
          url: '/v1/oversight/evaluate',
          headers: key.auth,
          payload: body,
        });
      const ok = await ask({
        agent_id: agent.id,
        action: 'sandbox.create',
        resource: { id: 'sandbox:small' },
        context: { estimated_cost: 5 },
        delegation_token: token,
      });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ decision: 'allow', rule_ids: ['sandboxes'] });
      // The token is bound to its agent: naming another (or no such) agent is refused.
      const other = await ask({
        agent_id: 'b'.repeat(64),
        action: 'sandbox.create',
        resource: { id: 'sandbox:small' },
        delegation_token: token,
      });
      expect(other.statusCode).toBeGreaterThanOrEqual(400);
      expect(other.statusCode).toBeLessThan(500);
      expect(other.json().decision).not.toBe('allow');
      // A key of another tenant cannot use this tenant's token at all.
      const b = await onboardTenant(t, 'evaluate-happy-b');
      const foreign = await t.node.app.inject({
        method: 'POST',
        url: '/v1/oversight/evaluate',
        headers: b.auth,
        payload: {
          agent_id: agent.id,
          action: 'sandbox.create',
          resource: { id: 'sandbox:small' },
          delegation_token: token,
        },
      });
      expect(foreign.statusCode).toBeGreaterThanOrEqual(400);
      expect(foreign.statusCode).toBeLessThan(500);
      // The agent lookup is cached per node, yet a suspension counts from the very next request.
      const again = () =>
        ask({
          agent_id: agent.id,
          action: 'sandbox.create',
          resource: { id: 'sandbox:small' },
          delegation_token: token,
        });
      expect((await again()).statusCode).toBe(200);
      const suspend = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/suspend`,
        headers: a.auth,
        payload: { reason: 'test' },
      });
      expect(suspend.statusCode, suspend.body).toBe(200);
      const refused = await again();
      expect(refused.statusCode).toBeGreaterThanOrEqual(400);
      expect(refused.statusCode).toBeLessThan(500);
      const reinstate = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/reinstate`,
        headers: a.auth,
        payload: { reason: 'test' },
      });
      expect(reinstate.statusCode, reinstate.body).toBe(200);
      expect((await again()).statusCode).toBe(200);
    });

    it('refuses an action outside the token with the authz problem type', async () => {
      const res = await signedEvaluate({
        action: 'llm.call',
        resource: { id: 'sandbox:x' },
        delegation_token: token,
      });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('/problems/delegation-action-not-permitted');
      const resource = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'repo:acme' },
        delegation_token: token,
      });
      expect(resource.body.type).toBe('/problems/delegation-resource-not-permitted');
      const bogus = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:x' },
        delegation_token: 'bogus',
      });
      expect(bogus.status).toBe(401);
    });

    it('refuses an agent asking about another agent', async () => {
      const res = await signedEvaluate({
        agent_id: 'f'.repeat(64),
        action: 'sandbox.create',
        resource: { id: 'sandbox:x' },
        delegation_token: token,
      });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('/problems/decision-agent-mismatch');
    });

    it('decides a batch item by item', async () => {
      const res = await signedEvaluate(
        {
          delegation_token: token,
          requests: [
            { action: 'sandbox.create', resource: { id: 'sandbox:a' }, context: { estimated_cost: 1 } },
            { action: 'llm.call', resource: { id: 'sandbox:a' } },
          ],
        },
        '/v1/oversight/evaluate/batch',
      );
      expect(res.status).toBe(200);
      expect(res.body.results).toMatchObject([
        { status: 200, decision: { decision: 'allow' } },
        { status: 403, problem: { type: '/problems/delegation-action-not-permitted' } },
      ]);
    });

    it('simulates a candidate on the decisions above, runs it in shadow, enforces it and rolls back', async () => {
      const v2 = await api.addVersion(policyId, {
        rules: [{ ...sandboxRules[1], when: 'true' }, sandboxRules[2]],
        tests: [],
      });
      expect(v2.statusCode).toBe(201);
      const sim = await api.call('POST', `/v1/oversight/policies/${policyId}/simulate`, {
        version: 2,
        last: 1000,
      });
      expect(sim.statusCode).toBe(200);
      expect(sim.json().replayed).toBeGreaterThanOrEqual(4);
      expect(sim.json().changes['allow->pending_approval']).toBeGreaterThanOrEqual(2);
      expect(sim.json().flips[0]).toMatchObject({
        to: { decision: 'pending_approval' },
        by_rule: 'costly-sandbox',
      });

      await api.transition(policyId, 2, 'propose');
      const shadow = await api.call('POST', `/v1/oversight/policies/${policyId}/versions/2/shadow`, {
        enabled: true,
        reason: 'watch it for a day',
      });
      expect(shadow.json()).toMatchObject({ shadow: true, state: 'proposed' });
      const live = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:s' },
        context: { estimated_cost: 3 },
        delegation_token: token,
      });
      expect(live.body.decision).toBe('allow');
      const report = await api.call('GET', `/v1/oversight/policies/${policyId}/versions/2/shadow-report`);
      expect(report.json()).toMatchObject({ shadow: true, disagreements_total: 1 });
      expect(report.json().items[0]).toMatchObject({
        decision_id: live.body.decision_id,
        active: { decision: 'allow' },
        shadow: { decision: 'pending_approval', rule_ids: ['costly-sandbox'] },
      });

      await api.transition(policyId, 2, 'enforce');
      const after = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:s' },
        context: { estimated_cost: 3 },
        delegation_token: token,
      });
      expect(after.body).toMatchObject({ decision: 'pending_approval', policy: { version: 2 } });
      const back = await api.call('POST', `/v1/oversight/policies/${policyId}/rollback`, {
        reason: 'too strict',
      });
      expect(back.json()).toMatchObject({ version: 1, state: 'active' });
      const restored = await signedEvaluate({
        action: 'sandbox.create',
        resource: { id: 'sandbox:s' },
        context: { estimated_cost: 3 },
        delegation_token: token,
      });
      expect(restored.body).toMatchObject({ decision: 'allow', policy: { version: 1 } });
    });
  });
}
