/**
 * POST /v1/oversight/evaluate and /batch on a full node: request checks, permissions, and a token
 * the authz module cannot read. Failing closed on an internal error is covered in process by
 * ../decisions.test.ts (a node cannot be made to fail on demand through its API).
 */
import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

const AGENT = 'a'.repeat(64);

for (const driver of drivers()) {
  describe(`evaluate routes, errors and security (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    const body = (extra: Record<string, unknown> = {}) => ({
      agent_id: AGENT,
      action: 'sandbox.create',
      resource: { id: 'sandbox:new' },
      context: { estimated_cost: 12.5 },
      delegation_token: 'MDAxY2xvY2F0aW9uIHdhcmRlbgo',
      ...extra,
    });
    const post = (
      payload: unknown,
      headers: Record<string, string> = a.auth,
      url = '/v1/oversight/evaluate',
    ) => t.node.app.inject({ method: 'POST', url, headers, payload: payload as object });

    it('onboards a tenant', async () => {
      a = await onboardTenant(t, 'evaluate');
    });

    it('refuses a token the authz module does not accept, with its problem', async () => {
      // An API key is not the agent the token is bound to: the authz check refuses it.
      const res = await post(body());
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json().type).toMatch(/^\/problems\/delegation-/);
    });

    it('refuses an oversized or too deep context with decision-context-too-large', async () => {
      const res = await post(body({ context: { note: 'x'.repeat(17_000) } }));
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({
        type: '/problems/decision-context-too-large',
        field: 'body.context',
      });
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 10; i++) deep = { d: deep };
      expect((await post(body({ context: deep }))).json().type).toBe('/problems/decision-context-too-large');
    });

    it('asks an API key for the agent it acts for', async () => {
      const { agent_id: _a, ...withoutAgent } = body();
      const res = await post(withoutAgent);
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ type: '/problems/decision-agent-unknown', field: 'body.agent_id' });
    });

    it('validates the request', async () => {
      for (const [payload, field] of [
        [body({ action: 'sandbox.*' }), 'body.action'],
        [body({ delegation_token: '' }), 'body.delegation_token'],
        [body({ resource: { id: 'has space' } }), 'body.resource.id'],
        [body({ extra: 1 }), 'body.extra'],
      ] as const) {
        const res = await post(payload);
        expect(res.statusCode, field).toBe(400);
        expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
      }
    });

    it('needs oversight:evaluate: a viewer key is refused, a developer key is let through', async () => {
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      const refused = await post(body(), viewer.auth);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().type).toBe('/problems/forbidden');
      const dev = await createKey(t, a.auth, { name: 'dev', role: 'developer' });
      expect((await post(body(), dev.auth)).json().type).toMatch(/^\/problems\/delegation-/);
    });

    it('answers each batch item on its own', async () => {
      const { delegation_token, ...item } = body();
      const res = await post(
        {
          delegation_token,
          requests: [
            item,
            { ...item, context: { big: 'x'.repeat(17_000) } },
            { ...item, agent_id: undefined },
          ],
        },
        a.auth,
        '/v1/oversight/evaluate/batch',
      );
      expect(res.statusCode).toBe(200);
      const results = res.json().results;
      expect(results.map((r: { status: number }) => r.status)).toEqual([403, 413, 422]);
      expect(results[1].problem).toMatchObject({ type: '/problems/decision-context-too-large' });
      const noToken = await post({ requests: [item] }, a.auth, '/v1/oversight/evaluate/batch');
      expect(noToken.json().results[0]).toMatchObject({
        status: 400,
        problem: { field: 'delegation_token' },
      });
      const tooMany = await post(
        { delegation_token, requests: Array(101).fill(item) },
        a.auth,
        '/v1/oversight/evaluate/batch',
      );
      expect(tooMany.json()).toMatchObject({ status: 400, field: 'body.requests' });
    });
  });
}
