/**
 * SSO against a real OpenID provider (`oidc-provider` on 127.0.0.1): discovery, JWKS, RS256 JWT
 * access tokens from the client-credentials grant, claims mapped to tenant and roles, key rotation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../test/support/warden.js';
import { systemClock } from '../../platform/clock.js';
import type { WardenConfig } from '../../platform/config.js';
import { CredentialCache } from './credential-cache.js';
import { oidcAuthenticator } from './oidc.js';

const AUDIENCE = 'warden-api';

/** Claims each client's tokens carry; set by the tests once the tenants exist. */
const claimsByClient: Record<string, Record<string, unknown>> = {};

async function signingKey(kid: string) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

function buildProvider(issuer: string, keys: Record<string, unknown>[]) {
  const clients = ['admin', 'viewer', 'norole', 'ghost', 'other-aud'].map((id) => ({
    client_id: id,
    client_secret: `${id}-secret-of-enough-length`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }));
  return new Provider(issuer, {
    clients,
    jwks: { keys },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://warden.test/',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'api',
          audience: resource === 'https://other.test/' ? 'someone-else' : AUDIENCE,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId: string }) => claimsByClient[token.clientId],
  });
}

class LocalIssuer {
  server!: Server;
  issuer = '';
  private handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handler(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** (Re)configure the provider with these signing keys: the first signs new tokens. */
  use(keys: Record<string, unknown>[]): void {
    this.handler = buildProvider(this.issuer, keys).callback();
  }

  async token(client: string, resource = 'https://warden.test/'): Promise<string> {
    const res = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client}:${client}-secret-of-enough-length`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!res.ok || !body.access_token) throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

for (const driver of drivers()) {
  describe(`SSO bearer JWTs from a local OpenID provider (${driver.name})`, () => {
    const idp = new LocalIssuer();
    const overrides: Partial<WardenConfig> = {};
    beforeAll(async () => {
      await idp.start();
      idp.use([await signingKey('k1')]);
      overrides.oidcIssuers = [
        {
          issuer: idp.issuer,
          audience: AUDIENCE,
          tenant_claim: 'warden_tenant',
          roles_claim: 'warden_roles',
        },
      ];
    });
    afterAll(() => idp.stop());
    const t = useWarden(driver, overrides);
    const me = (token: string) =>
      t.node.app.inject({
        method: 'GET',
        url: '/v1/auth/user',
        headers: { authorization: `Bearer ${token}` },
      });

    it('maps the issuer’s claims to the tenant and roles, and the roles to permissions', async () => {
      const a = await onboardTenant(t, 'sso');
      claimsByClient.admin = { warden_tenant: a.tenantId, warden_roles: ['admin', 'not-a-warden-role'] };
      const token = await idp.token('admin');
      const res = await me(token);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        kind: 'user',
        id: 'oidc:admin',
        tenant_id: a.tenantId,
        roles: ['admin'],
      });
      const users = await t.node.app.inject({
        method: 'GET',
        url: '/v1/users',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(users.statusCode).toBe(200);
      const forbidden = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { authorization: `Bearer ${token}` },
        payload: { name: 'nope' },
      });
      expect(forbidden.statusCode).toBe(403);
      claimsByClient.viewer = { warden_tenant: a.tenantId, warden_roles: 'viewer' };
      const viewer = await me(await idp.token('viewer'));
      expect(viewer.json().roles).toEqual(['viewer']);
    });

    it('refuses a token for another audience, without a Warden role, or for an unknown tenant', async () => {
      const a = await onboardTenant(t, 'sso-bad');
      claimsByClient['other-aud'] = { warden_tenant: a.tenantId, warden_roles: ['admin'] };
      claimsByClient.norole = { warden_tenant: a.tenantId, warden_roles: ['superhero'] };
      claimsByClient.ghost = {
        warden_tenant: '01936f6e-0000-7000-8000-000000000000',
        warden_roles: ['admin'],
      };
      const cases: [string, RegExp][] = [
        [await idp.token('other-aud', 'https://other.test/'), /claim check failed \(aud\)/],
        [await idp.token('norole'), /no Warden role/],
        [await idp.token('ghost'), /does not exist or is deactivated/],
      ];
      for (const [token, detail] of cases) {
        const res = await me(token);
        expect(res.statusCode).toBe(401);
        expect(res.json().type).toBe('/problems/unauthenticated');
        expect(res.json().detail).toMatch(detail);
      }
    });

    it('refuses a tampered token, and stops a tenant’s tokens when it is deactivated', async () => {
      const a = await onboardTenant(t, 'sso-deact');
      claimsByClient.admin = { warden_tenant: a.tenantId, warden_roles: ['admin'] };
      const token = await idp.token('admin');
      const [h, p, s] = token.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, warden_roles: ['owner'] })).toString('base64url')}.${s}`;
      const bad = await me(forged);
      expect(bad.statusCode).toBe(401);
      expect(bad.json().detail).toMatch(/bad signature/);
      expect((await me(token)).statusCode).toBe(200);
      await t.node.app.inject({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}`, headers: t.auth });
      expect((await me(token)).statusCode).toBe(401);
    });

    it('follows the issuer’s key rotation (a token signed by a new key verifies after a JWKS refetch)', async () => {
      const a = await onboardTenant(t, 'sso-rotate');
      claimsByClient.admin = { warden_tenant: a.tenantId, warden_roles: ['admin'] };
      const authenticate = oidcAuthenticator({
        issuers: [
          {
            issuer: idp.issuer,
            audience: AUDIENCE,
            tenant_claim: 'warden_tenant',
            roles_claim: 'warden_roles',
          },
        ],
        clock: systemClock,
        cache: new CredentialCache({ maxEntries: 100, ttlMs: 60_000, rejectionTtlMs: 1000 }),
        isTenantActive: async () => true,
        jwksCooldownMs: 0,
      });
      const asRequest = (token: string) =>
        ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;
      const before = await authenticate(asRequest(await idp.token('admin')));
      expect(before).toMatchObject({ principal: { tenantId: a.tenantId } });
      idp.use([await signingKey('k2')]); // the old key is gone from the JWKS
      const rotated = await idp.token('admin');
      expect(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid).toBe('k2');
      const after = await authenticate(asRequest(rotated));
      expect(after).toMatchObject({ principal: { tenantId: a.tenantId, roles: ['admin'] } });
    });

    it('ignores a JWT from an issuer it does not trust (falls through to 401 no credential)', async () => {
      const foreign = [
        Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url'),
        Buffer.from(JSON.stringify({ iss: 'https://evil.example', sub: 'x' })).toString('base64url'),
        'sig',
      ].join('.');
      const res = await me(foreign);
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toMatch(/needs a credential/);
    });
  });
}
