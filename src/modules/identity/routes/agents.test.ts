import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TestAgent } from '../../../../test/support/agent-client.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { agentIdFor, registrationMessage, rotationMessage } from '../agent-keys.js';

for (const driver of drivers()) {
  describe(`agents (${driver.name})`, () => {
    const t = useWarden(driver);
    let tenantId = '';
    let otherTenantId = '';
    const asOperator = () => ({ ...t.auth, 'x-warden-tenant': tenantId });

    async function register(agent: TestAgent, tenant = tenantId, overrides: Record<string, unknown> = {}) {
      const headers = { ...t.auth, 'x-warden-tenant': tenant };
      const ch = await t.node.app.inject({ method: 'POST', url: '/v1/agents/challenge', headers });
      expect(ch.statusCode).toBe(201);
      const { challenge } = ch.json() as { challenge: string };
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/agents',
        headers,
        payload: {
          name: 'researcher',
          public_key: agent.publicKey,
          challenge,
          signature: agent.signMessage(registrationMessage(tenant, challenge, agent.publicKey)),
          tier: 'standard',
          ...overrides,
        },
      });
      if (res.statusCode === 201) agent.id = res.json().id;
      return res;
    }

    /** A signed request over real HTTP (the signature covers the full target URI). */
    async function signedGet(
      agent: TestAgent,
      path: string,
      options: Parameters<TestAgent['signedHeaders']>[3] = {},
    ) {
      const url = `${t.node.url}${path}`;
      const res = await fetch(url, { headers: agent.signedHeaders('GET', url, undefined, options) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    async function signedPost(agent: TestAgent, path: string, body: string, sendBody = body) {
      const url = `${t.node.url}${path}`;
      const res = await fetch(url, {
        method: 'POST',
        headers: agent.signedHeaders('POST', url, body),
        body: sendBody,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it('sets up two tenants', async () => {
      tenantId = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/tenants',
          headers: t.auth,
          payload: { name: 'Agents A' },
        })
      ).json().id;
      otherTenantId = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/tenants',
          headers: t.auth,
          payload: { name: 'Agents B' },
        })
      ).json().id;
      expect(tenantId).toBeTruthy();
    });

    it('registers an agent whose id is the SHA-256 of its key, after proof of possession', async () => {
      const agent = new TestAgent();
      const res = await register(agent);
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body).toMatchObject({
        id: agentIdFor(Buffer.from(agent.publicKey, 'base64url')),
        tenant_id: tenantId,
        tier: 'standard',
        trust_level: 'untrusted',
        status: 'active',
        key_version: 1,
        owner: 'operator:operator',
      });
      const got = await t.node.app.inject({
        method: 'GET',
        url: `/v1/agents/${body.id}`,
        headers: asOperator(),
      });
      expect(got.json()).toEqual(body);
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/agents', headers: asOperator() });
      expect(list.json().items.map((a: { id: string }) => a.id)).toContain(body.id);
    });

    it('authenticates the agent’s signed requests', async () => {
      const agent = new TestAgent();
      await register(agent);
      const res = await signedGet(agent, `/v1/agents/${agent.id}`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(agent.id);
    });

    it('refuses registration with a bad proof, a reused or foreign challenge, a bad key, or a duplicate', async () => {
      const agent = new TestAgent();
      const ch = (
        await t.node.app.inject({ method: 'POST', url: '/v1/agents/challenge', headers: asOperator() })
      ).json();
      const wrongSig = await t.node.app.inject({
        method: 'POST',
        url: '/v1/agents',
        headers: asOperator(),
        payload: {
          name: 'x',
          public_key: agent.publicKey,
          challenge: ch.challenge,
          signature: agent.signMessage('something else'),
        },
      });
      expect(wrongSig.statusCode).toBe(422);
      expect(wrongSig.json()).toMatchObject({
        type: '/problems/agent-proof-invalid',
        field: 'body.signature',
      });

      const foreign = await register(agent, otherTenantId, {});
      expect(foreign.statusCode).toBe(201);
      const reused = await t.node.app.inject({
        method: 'POST',
        url: '/v1/agents',
        headers: asOperator(),
        payload: {
          name: 'x',
          public_key: agent.publicKey,
          challenge: ch.challenge,
          signature: agent.signMessage(registrationMessage(otherTenantId, ch.challenge, agent.publicKey)),
        },
      });
      expect(reused.statusCode).toBe(422);

      const badKey = await t.node.app.inject({
        method: 'POST',
        url: '/v1/agents',
        headers: asOperator(),
        payload: {
          name: 'x',
          public_key: 'A'.repeat(42),
          challenge: ch.challenge,
          signature: 'A'.repeat(86),
        },
      });
      expect(badKey.statusCode).toBe(400);
      expect(badKey.json()).toMatchObject({ type: '/problems/validation-failed', field: 'body.public_key' });

      const dup = new TestAgent();
      expect((await register(dup)).statusCode).toBe(201);
      const again = await register(dup);
      expect(again.statusCode).toBe(409);
      expect(again.json().type).toBe('/problems/agent-exists');
    });

    it('refuses signed requests with the exact problem type for each failure', async () => {
      const agent = new TestAgent();
      await register(agent);
      const body = JSON.stringify({ hello: 'world' });
      const tampered = await signedPost(
        agent,
        '/v1/agents/challenge',
        body,
        JSON.stringify({ hello: 'w0rld' }),
      );
      expect(tampered.status).toBe(401);
      expect(tampered.body.type).toBe('/problems/signature-digest-mismatch');

      const noTarget = await signedGet(agent, `/v1/agents/${agent.id}`, { components: ['@method'] });
      expect(noTarget.status).toBe(401);
      expect(noTarget.body.type).toBe('/problems/signature-component-missing');

      const url = `${t.node.url}/v1/agents/${agent.id}`;
      const headers = agent.signedHeaders('GET', url, undefined, { nonce: 'fixed-nonce-123' });
      expect((await fetch(url, { headers })).status).toBe(200);
      const replay = await fetch(url, { headers });
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { type: string }).type).toBe('/problems/signature-replayed');

      const old = await signedGet(agent, `/v1/agents/${agent.id}`, {
        created: Math.floor(Date.now() / 1000) - 3600,
      });
      expect(old.status).toBe(401);
      expect(old.body.type).toBe('/problems/signature-stale');
      const future = await signedGet(agent, `/v1/agents/${agent.id}`, {
        created: Math.floor(Date.now() / 1000) + 3600,
      });
      expect(future.body.type).toBe('/problems/signature-stale');

      const impostor = new TestAgent();
      impostor.id = agent.id; // claims the agent's keyid, signs with another key
      const forged = await signedGet(impostor, `/v1/agents/${agent.id}`);
      expect(forged.status).toBe(401);
      expect(forged.body.type).toBe('/problems/signature-invalid');
    });

    it('suspends, reinstates and revokes, each taking effect on the next request', async () => {
      const agent = new TestAgent();
      await register(agent, tenantId, { trust_level: 'trusted' });
      expect((await signedGet(agent, `/v1/agents/${agent.id}`)).status).toBe(200);
      const s = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/suspend`,
        headers: asOperator(),
        payload: { reason: 'drill' },
      });
      expect(s.json().trust_level).toBe('suspended');
      const refused = await signedGet(agent, `/v1/agents/${agent.id}`);
      expect(refused.status).toBe(401);
      expect(refused.body.type).toBe('/problems/agent-inactive');
      const again = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/suspend`,
        headers: asOperator(),
        payload: {},
      });
      expect(again.json().type).toBe('/problems/agent-state-conflict');
      const r = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/reinstate`,
        headers: asOperator(),
        payload: {},
      });
      expect(r.json().trust_level).toBe('trusted');
      expect((await signedGet(agent, `/v1/agents/${agent.id}`)).status).toBe(200);
      const del = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/agents/${agent.id}`,
        headers: asOperator(),
      });
      expect(del.json()).toMatchObject({ status: 'revoked' });
      expect((await signedGet(agent, `/v1/agents/${agent.id}`)).body.type).toBe('/problems/agent-inactive');
      const afterRevoke = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/suspend`,
        headers: asOperator(),
        payload: {},
      });
      expect(afterRevoke.json().type).toBe('/problems/agent-revoked');
    });

    it('rotates a key signed by the old and the new key; the old key stops working at once', async () => {
      const agent = new TestAgent();
      await register(agent);
      const { privateKey: newPriv, publicKey: newPub } = generateKeyPairSync('ed25519');
      const newKey = (newPub.export({ format: 'jwk' }) as { x: string }).x;
      const message = rotationMessage(agent.id, 1, newKey);
      const bad = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/rotate-key`,
        headers: asOperator(),
        payload: {
          new_public_key: newKey,
          signature_by_current: agent.signMessage(message, newPriv),
          signature_by_new: agent.signMessage(message, newPriv),
        },
      });
      expect(bad.statusCode).toBe(422);
      expect(bad.json()).toMatchObject({
        type: '/problems/agent-proof-invalid',
        field: 'body.signature_by_current',
      });
      const ok = await t.node.app.inject({
        method: 'POST',
        url: `/v1/agents/${agent.id}/rotate-key`,
        headers: asOperator(),
        payload: {
          new_public_key: newKey,
          signature_by_current: agent.signMessage(message),
          signature_by_new: agent.signMessage(message, newPriv),
        },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ id: agent.id, key_version: 2, public_key: newKey });
      expect((await signedGet(agent, `/v1/agents/${agent.id}`)).body.type).toBe(
        '/problems/signature-invalid',
      );
      (agent as { privateKey: unknown }).privateKey = newPriv;
      expect((await signedGet(agent, `/v1/agents/${agent.id}`)).status).toBe(200);
    });

    it('keeps agents inside their tenant: another tenant gets 404', async () => {
      const agent = new TestAgent();
      await register(agent);
      const other = await t.node.app.inject({
        method: 'GET',
        url: `/v1/agents/${agent.id}`,
        headers: { ...t.auth, 'x-warden-tenant': otherTenantId },
      });
      expect(other.statusCode).toBe(404);
      expect(other.json().type).toBe('/problems/agent-not-found');
      const noTenant = await t.node.app.inject({ method: 'GET', url: '/v1/agents', headers: t.auth });
      expect(noTenant.statusCode).toBe(400);
      expect(noTenant.json().type).toBe('/problems/tenant-required');
    });
  });
}
