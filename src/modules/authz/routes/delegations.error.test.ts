import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WardenAgent } from '../../../../sdk/src/index.js';
import { mintDelegation, registerAgent, verifyAs } from '../../../../test/support/authz-fixtures.js';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { ADMIN_TOKEN, drivers, useWarden } from '../../../../test/support/warden.js';
import { mintToken } from '../delegation-token.js';
import {
  addFirstPartyCaveat,
  decodeMacaroon,
  MAX_MACAROON_TEXT_LENGTH,
  serializeMacaroon,
} from '../macaroon.js';

const now = () => Math.floor(Date.now() / 1000);

for (const driver of drivers()) {
  describe(`delegations, bad input (${driver.name})`, () => {
    const t = useWarden(driver);
    let tenant: OnboardedTenant;
    let agent: WardenAgent;
    let other: WardenAgent;
    let token: string;
    let tokenId: string;
    let rootKey: Buffer;

    beforeAll(async () => {
      tenant = await onboardTenant(t, 'authzErr');
      agent = await registerAgent(t, tenant.key, { name: 'holder' });
      other = await registerAgent(t, tenant.key, { name: 'thief' });
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['sandbox.exec'],
        resources: ['repo:acme/*'],
        max_depth: 1,
      });
      token = minted.body.token!;
      tokenId = minted.body.id!;
      rootKey = (await t.node.secrets.get(t.node.db.kysely, `tenant/${tenant.tenantId}/root-key`))!;
    });

    async function expectProblem(presented: string, status: number, type: string, as = agent) {
      const res = await verifyAs(as, presented, 'sandbox.exec', 'repo:acme/widgets');
      expect(res.body.type, JSON.stringify(res.body)).toBe(type);
      expect(res.status).toBe(status);
      return res;
    }

    it('accepts the genuine token (the baseline the cases below alter)', async () => {
      expect((await verifyAs(agent, token, 'sandbox.exec', 'repo:acme/widgets')).status).toBe(200);
    });

    it('refuses a token with one byte changed: 401 delegation-token-signature-invalid', async () => {
      const bytes = Buffer.from(token, 'base64url');
      const at = bytes.indexOf('sandbox.exec');
      bytes[at + 8] = 'x'.charCodeAt(0); // sandbox.exec → sandbox.xxec: same length, same framing
      await expectProblem(bytes.toString('base64url'), 401, '/problems/delegation-token-signature-invalid');
      // A flipped bit in the signature itself too.
      const sig = Buffer.from(token, 'base64url');
      sig[sig.length - 1]! ^= 1;
      await expectProblem(sig.toString('base64url'), 401, '/problems/delegation-token-signature-invalid');
    });

    it('refuses a truncated token: 401 delegation-token-malformed', async () => {
      const bytes = Buffer.from(token, 'base64url');
      for (const cut of [1, 33, Math.floor(bytes.length / 2)]) {
        await expectProblem(
          bytes.subarray(0, bytes.length - cut).toString('base64url'),
          401,
          '/problems/delegation-token-malformed',
        );
      }
    });

    it('refuses an oversized token: 401 delegation-token-too-large', async () => {
      await expectProblem(
        'A'.repeat(MAX_MACAROON_TEXT_LENGTH + 4),
        401,
        '/problems/delegation-token-too-large',
      );
    });

    it('refuses an expired token: 401 delegation-token-expired', async () => {
      const expired = mintToken({
        rootKey,
        tokenId: randomUUID(),
        tenant: tenant.tenantId,
        holder: agent.id,
        actions: ['sandbox.exec'],
        resources: ['repo:acme/*'],
        notAfter: now() - 5,
        maxDepth: 0,
      });
      await expectProblem(expired, 401, '/problems/delegation-token-expired');
    });

    it('refuses an attenuation that widens a permission: 401 delegation-token-widened', async () => {
      // Appended with the raw macaroon API (the SDK refuses to make such a token).
      const widened = serializeMacaroon(
        addFirstPartyCaveat(decodeMacaroon(token), 'actions = sandbox.exec,llm.call'),
      );
      const res = await verifyAs(agent, widened, 'llm.call', 'repo:acme/widgets');
      expect(res.status).toBe(401);
      expect(res.body.type).toBe('/problems/delegation-token-widened');
      const widerResources = serializeMacaroon(
        addFirstPartyCaveat(decodeMacaroon(token), 'resources = repo:acme/**'),
      );
      await expectProblem(widerResources, 401, '/problems/delegation-token-widened');
      const later = serializeMacaroon(
        addFirstPartyCaveat(decodeMacaroon(token), `not_after = ${now() + 10 * 86_400}`),
      );
      await expectProblem(later, 401, '/problems/delegation-token-widened');
    });

    it('refuses a token presented by another agent’s key: 403 delegation-token-holder-mismatch', async () => {
      await expectProblem(token, 403, '/problems/delegation-token-holder-mismatch', other);
      // Cold (not cached) and warm answers agree.
      await expectProblem(token, 403, '/problems/delegation-token-holder-mismatch', other);
    });

    it('refuses a token whose tenant has no root key, or is another tenant: 401 delegation-token-unknown-tenant', async () => {
      const forged = (tenantId: string) =>
        mintToken({
          rootKey: randomBytes(32),
          tokenId: randomUUID(),
          tenant: tenantId,
          holder: agent.id,
          actions: ['sandbox.exec'],
          resources: ['repo:acme/*'],
          notAfter: now() + 600,
          maxDepth: 0,
        });
      await expectProblem(forged(randomUUID()), 401, '/problems/delegation-token-unknown-tenant');
      // A tenant that exists but never had a key: its agent presents a token naming it.
      const bare = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: `bare ${Date.now()}` },
      });
      const bareTenant = bare.json().id as string;
      const bareAgent = await registerAgent(t, ADMIN_TOKEN, { tenantId: bareTenant });
      const res = await verifyAs(
        bareAgent,
        mintToken({
          rootKey: randomBytes(32),
          tokenId: randomUUID(),
          tenant: bareTenant,
          holder: bareAgent.id,
          actions: ['a.b'],
          resources: ['r'],
          notAfter: now() + 60,
          maxDepth: 0,
        }),
        'a.b',
        'r',
      );
      expect(res.status).toBe(401);
      expect(res.body.type).toBe('/problems/delegation-token-unknown-tenant');
    });

    it('refuses a revoked token: 401 delegation-token-revoked, with WWW-Authenticate invalid_token', async () => {
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['sandbox.exec'],
        resources: ['repo:acme/*'],
      });
      const revoked = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/revoke',
        headers: tenant.auth,
        payload: { token_id: minted.body.id },
      });
      expect(revoked.statusCode).toBe(200);
      await expectProblem(minted.body.token!, 401, '/problems/delegation-token-revoked');
      const url = `${t.node.url}/v1/delegations/verify`;
      const body = JSON.stringify({
        token: minted.body.token,
        action: 'sandbox.exec',
        resource: 'repo:acme/w',
      });
      const res = await fetch(url, { method: 'POST', headers: agent.signHeaders('POST', url, body), body });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="warden", error="invalid_token"');
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('refuses an action or resource outside the caveats: 403 with the specific type', async () => {
      const action = await verifyAs(agent, token, 'sandbox.create', 'repo:acme/widgets');
      expect([action.status, action.body.type]).toEqual([403, '/problems/delegation-action-not-permitted']);
      const resource = await verifyAs(agent, token, 'sandbox.exec', 'repo:other/widgets');
      expect([resource.status, resource.body.type]).toEqual([
        403,
        '/problems/delegation-resource-not-permitted',
      ]);
      expect(resource.body.reason).toBe('resource_not_permitted');
    });

    it('refuses a delegation beyond the depth caveat: 401 delegation-token-depth-exceeded', async () => {
      // max_depth 1: one hop is fine, a second hop (appended raw, past the SDK's check) is not.
      const hop1 = serializeMacaroon(addFirstPartyCaveat(decodeMacaroon(token), `holder = ${other.id}`));
      expect((await verifyAs(other, hop1, 'sandbox.exec', 'repo:acme/w')).status).toBe(200);
      const hop2 = serializeMacaroon(addFirstPartyCaveat(decodeMacaroon(hop1), `holder = ${agent.id}`));
      await expectProblem(hop2, 401, '/problems/delegation-token-depth-exceeded');
    });

    it('validates mint requests with exact problem types', async () => {
      const cases: [Record<string, unknown>, number, string, string?][] = [
        [
          { agent_id: agent.id, actions: ['sandbox..exec'], resources: ['r'] },
          400,
          'delegation-invalid-caveat',
          'body.actions',
        ],
        [
          { agent_id: agent.id, actions: ['a.b'], resources: ['repo:**/x'] },
          400,
          'delegation-invalid-caveat',
          'body.resources',
        ],
        [
          {
            agent_id: agent.id,
            actions: ['a.b'],
            resources: ['r'],
            ttl_seconds: 60,
            expires_at: new Date(Date.now() + 60_000).toISOString(),
          },
          400,
          'delegation-invalid-expiry',
          'body.expires_at',
        ],
        [
          {
            agent_id: agent.id,
            actions: ['a.b'],
            resources: ['r'],
            expires_at: new Date(Date.now() - 1000).toISOString(),
          },
          400,
          'delegation-invalid-expiry',
        ],
        [
          {
            agent_id: agent.id,
            actions: ['a.b'],
            resources: ['r'],
            expires_at: new Date(Date.now() + 100 * 86_400_000).toISOString(),
          },
          400,
          'delegation-invalid-expiry',
        ],
        [
          { agent_id: agent.id, actions: ['a.b'], resources: ['r'], ttl_seconds: 91 * 86_400 },
          400,
          'validation-failed',
          'body.ttl_seconds',
        ],
        [{ agent_id: agent.id, actions: [], resources: ['r'] }, 400, 'validation-failed', 'body.actions'],
        [
          { agent_id: agent.id, actions: ['a.b'], resources: ['r'], max_depth: 9 },
          400,
          'validation-failed',
          'body.max_depth',
        ],
        [
          { agent_id: 'f'.repeat(64), actions: ['a.b'], resources: ['r'] },
          404,
          'delegation-agent-not-found',
          'body.agent_id',
        ],
      ];
      for (const [body, status, type, field] of cases) {
        const res = await mintDelegation(t, tenant.auth, body);
        expect([res.status, res.body.type], JSON.stringify(body)).toEqual([status, `/problems/${type}`]);
        if (field) expect(res.body.field).toBe(field);
      }
    });

    it('refuses to mint for a revoked agent: 409 delegation-agent-revoked', async () => {
      const gone = await registerAgent(t, tenant.key, { name: 'gone' });
      const del = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/agents/${gone.id}`,
        headers: tenant.auth,
      });
      expect(del.statusCode).toBe(200);
      const res = await mintDelegation(t, tenant.auth, {
        agent_id: gone.id,
        actions: ['a.b'],
        resources: ['r'],
      });
      expect([res.status, res.body.type]).toEqual([409, '/problems/delegation-agent-revoked']);
    });

    it('answers revoke of an unknown id 404, and inspect of a non-token 400', async () => {
      const revoke = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/revoke',
        headers: tenant.auth,
        payload: { token_id: randomUUID() },
      });
      expect([revoke.statusCode, revoke.json().type]).toEqual([404, '/problems/delegation-not-found']);
      for (const bad of [
        'not a token!',
        Buffer.from(token, 'base64url').subarray(0, 40).toString('base64url'),
      ]) {
        const res = await t.node.app.inject({
          method: 'POST',
          url: '/v1/delegations/inspect',
          headers: tenant.auth,
          payload: { token: bad },
        });
        expect([res.statusCode, res.json().type]).toEqual([400, '/problems/delegation-token-unreadable']);
      }
      const tampered = Buffer.from(token, 'base64url');
      tampered[tampered.length - 1]! ^= 1;
      const inspected = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/inspect',
        headers: tenant.auth,
        payload: { token: tampered.toString('base64url') },
      });
      expect(inspected.statusCode).toBe(200);
      expect(inspected.json()).toMatchObject({ signature_valid: false, delegation: { id: tokenId } });
    });
  });
}
