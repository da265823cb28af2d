import { describe, expect, it } from 'vitest';
import { drivers } from '../../test/support/drivers.js';
import { onboardTenant } from '../../test/support/identity-fixtures.js';
import { ADMIN_TOKEN, useWarden } from '../../test/support/warden.js';
import {
  exportPrivateKey,
  generateAgentKeys,
  importAgentKeys,
  WardenAgent,
  WardenError,
} from '../src/index.js';

const [pglite] = drivers();

describe('SDK: from keypair to an authorized, signed request', () => {
  const t = useWarden(pglite!);

  it('registers, signs requests, rotates its key, and surfaces problems as WardenError', async () => {
    const tenant = (
      await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: 'SDK Co' },
      })
    ).json();

    // The README's five lines.
    const agent = WardenAgent.create(t.node.url);
    await agent.register({ apiKey: ADMIN_TOKEN, tenantId: tenant.id, name: 'researcher' });
    const me = await agent.request<{ id: string; status: string }>(`/v1/agents/${agent.id}`);
    expect(me).toMatchObject({ id: agent.id, status: 'active' });

    // A key exported and imported again signs as the same agent.
    const restored = WardenAgent.create(t.node.url, importAgentKeys(exportPrivateKey(agent.keys)));
    expect(restored.id).toBe(agent.id);
    expect((await restored.request<{ id: string }>(`/v1/agents/${agent.id}`)).id).toBe(agent.id);

    const rotated = await agent.rotateKey({ apiKey: ADMIN_TOKEN, tenantId: tenant.id }, 1);
    expect(rotated).toMatchObject({ id: agent.id, key_version: 2 });
    expect((await agent.request<{ key_version: number }>(`/v1/agents/${agent.id}`)).key_version).toBe(2);
    // The old key no longer verifies.
    await expect(restored.request(`/v1/agents/${agent.id}`)).rejects.toMatchObject({
      status: 401,
      problem: { type: '/problems/signature-invalid' },
    });

    const err = await agent.request('/v1/agents/not-an-id').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).status).toBe(400);
  });

  it('runs the README’s five lines: keypair → registration → delegation → an authorized, signed request', async () => {
    const { key: apiKey } = await onboardTenant(t, 'readme');

    // README "Five lines of SDK code", verbatim but for the URL.
    const agent = WardenAgent.create(t.node.url);
    await agent.register({ apiKey, name: 'researcher' });
    await agent.obtainDelegation({ apiKey, actions: ['llm.call'], resources: ['model:*'] });
    const grant = await agent.authorize('llm.call', 'model:gpt-4o');

    expect(grant).toMatchObject({ allowed: true, holder: agent.id, actions: ['llm.call'] });
    // The same token does not stretch beyond its caveats, and is useless to another agent.
    await expect(agent.authorize('sandbox.exec', 'model:gpt-4o')).rejects.toMatchObject({
      status: 403,
      problem: { type: '/problems/delegation-action-not-permitted' },
    });
    const thief = WardenAgent.create(t.node.url);
    await thief.register({ apiKey, name: 'thief' });
    await expect(thief.authorize('llm.call', 'model:gpt-4o', agent.delegation)).rejects.toMatchObject({
      status: 403,
      problem: { type: '/problems/delegation-token-holder-mismatch' },
    });
    // Minted with the default max_depth 0: the SDK will not even build a delegation from it.
    expect(() => agent.delegate(thief.id, { resources: ['model:gpt-4o'] })).toThrow(/no further delegation/);
  });

  it('derives the agent id from the public key', () => {
    const keys = generateAgentKeys();
    expect(keys.agentId).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.publicKey).toHaveLength(43);
  });
});
