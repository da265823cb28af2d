/**
 * Tenant isolation across every route: tenant B's owner key, pointed at tenant A's objects, gets
 * 404 on every tenant-scoped route (403 only where the permission is operator-only), never data.
 *
 * The routes come from the OpenAPI document, so a route added later is walked too. Ids of A's
 * objects come from FIXTURES by path prefix; a route without a fixture is walked with an id of the
 * right shape that exists nowhere (add a fixture for a stronger check). Bodies are generated from
 * the route's schema so validation does not answer before the tenant check.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintDelegation, registerAgent } from '../../../../test/support/authz-fixtures.js';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { OPERATOR_ONLY } from '../roles.js';

interface JsonSchema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  $ref?: string;
}

/** A small valid value for a schema (enough for the routes' bodies; not a general generator). */
function sample(s: JsonSchema | undefined, name = ''): unknown {
  if (!s) return {};
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return sample(alt.find((x) => x.type !== 'null') ?? alt[0], name);
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = sample(s.properties?.[key], key);
      return out;
    }
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string': {
      if (s.format === 'email') return `walk-${randomBytes(4).toString('hex')}@example.com`;
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      // `^[class]{n}$` patterns (hex ids, base64url keys and signatures): n characters of the class.
      const fixed = s.pattern ? /^\^\[([^\]]+)\]\{(\d+)\}\$$/.exec(s.pattern) : null;
      if (fixed)
        return fixed[1]!.includes('a-f') ? 'a'.repeat(Number(fixed[2])) : 'A'.repeat(Number(fixed[2]));
      const plain = 'walk sample value'.padEnd(s.minLength ?? 0, 'x');
      if (!s.pattern) return plain;
      const re = new RegExp(s.pattern, 'u');
      return ['walk-sample', 'walksample', 'a', randomUUID(), plain].find((c) => re.test(c)) ?? plain;
    }
    default:
      return {};
  }
}

/** An id of the param's shape that names nothing. */
function unknownId(param: JsonSchema | undefined): string {
  if (param?.type === 'integer') return '1';
  if (param?.format === 'uuid' || !param?.pattern) return randomUUID();
  const re = new RegExp(param.pattern, 'u');
  const candidates = [randomUUID(), randomBytes(32).toString('hex'), String(sample(param))];
  return candidates.find((c) => re.test(c)) ?? String(sample(param));
}

for (const driver of drivers()) {
  describe(`tenant isolation on every route (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let b: OnboardedTenant;
    let spareKeyOfA: string;
    let delegationOfA: { id: string; token: string };

    it('prepares tenants A and B', async () => {
      a = await onboardTenant(t, 'walkA');
      b = await onboardTenant(t, 'walkB');
      spareKeyOfA = (await createKey(t, a.auth, { name: 'spare', role: 'viewer' })).id;
      const agentOfA = await registerAgent(t, a.key);
      const minted = await mintDelegation(t, a.auth, {
        agent_id: agentOfA.id,
        actions: ['llm.call'],
        resources: ['model:*'],
      });
      delegationOfA = { id: minted.body.id!, token: minted.body.token! };
    });

    it('answers B with 404 for A’s objects on every tenant-scoped route with an id', async () => {
      const FIXTURES: Record<string, string> = {
        '/v1/tenants/': a.tenantId,
        '/v1/api-keys/': spareKeyOfA,
        '/v1/users/': a.ownerId,
        '/v1/delegations/': delegationOfA.id,
      };
      const doc = (await t.node.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: { in: string; name: string; schema?: JsonSchema }[];
              requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
            }
          >
        >;
      };
      const walked: string[] = [];
      for (const [path, methods] of Object.entries(doc.paths)) {
        if (!path.startsWith('/v1/') || path.startsWith('/v1/platform/') || !path.includes('{')) continue;
        for (const [method, op] of Object.entries(methods)) {
          const params = (op.parameters ?? []).filter((p) => p.in === 'path');
          const fixture = Object.entries(FIXTURES).find(([prefix]) => path.startsWith(prefix))?.[1];
          const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => {
            const schema = params.find((p) => p.name === name)?.schema;
            return fixture && name === 'id' ? fixture : unknownId(schema);
          });
          const bodySchema = op.requestBody?.content?.['application/json']?.schema;
          const res = await t.node.app.inject({
            method: method.toUpperCase() as 'GET',
            url,
            headers: b.auth,
            ...(bodySchema ? { payload: sample(bodySchema) as object } : {}),
          });
          walked.push(`${method.toUpperCase()} ${path} → ${res.statusCode}`);
          const body = res.json();
          if (res.statusCode === 403) {
            const permission = /needs the permission (\S+)/.exec(body.detail)?.[1] ?? '';
            expect(OPERATOR_ONLY.has(permission), `${method} ${path}: 403 for ${permission}`).toBe(true);
          } else {
            expect(res.statusCode, `${method} ${path}: ${res.body}`).toBe(404);
          }
          for (const id of [a.tenantId, a.ownerId, a.keyId, spareKeyOfA]) {
            if (id !== fixture) expect(res.body).not.toContain(id);
          }
          if (res.statusCode === 404) expect(body.type).toMatch(/not-found$/);
        }
      }
      expect(walked.length).toBeGreaterThanOrEqual(7);
    });

    it('answers B with 404 on routes that name A’s objects in the body', async () => {
      const cases = [
        { url: '/v1/delegations/revoke', payload: { token_id: delegationOfA.id } },
        { url: '/v1/delegations/inspect', payload: { token: delegationOfA.token } },
      ];
      for (const c of cases) {
        const res = await t.node.app.inject({ method: 'POST', headers: b.auth, ...c });
        expect(res.statusCode, `${c.url}: ${res.body}`).toBe(404);
        expect(res.json().type).toMatch(/not-found$/);
        expect(res.body).not.toContain(a.tenantId);
      }
      const still = await t.node.app.inject({
        method: 'GET',
        url: `/v1/delegations/${delegationOfA.id}`,
        headers: a.auth,
      });
      expect(still.json().status).toBe('active');
    });

    it('shows B none of A’s objects on any list route', async () => {
      const doc = (await t.node.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, unknown>>;
      };
      for (const [path, methods] of Object.entries(doc.paths)) {
        if (
          !path.startsWith('/v1/') ||
          path.startsWith('/v1/platform/') ||
          path.includes('{') ||
          !methods.get
        )
          continue;
        const res = await t.node.app.inject({ method: 'GET', url: path, headers: b.auth });
        if (res.statusCode !== 200) continue;
        for (const id of [a.tenantId, a.ownerId, a.keyId, spareKeyOfA])
          expect(res.body, path).not.toContain(id);
      }
    });

    it('left A untouched', async () => {
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: a.auth })).statusCode,
      ).toBe(200);
      const keys = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth });
      expect(keys.json().items.every((k: { revoked_at: string | null }) => k.revoked_at === null)).toBe(true);
      const owner = await t.node.app.inject({
        method: 'GET',
        url: `/v1/users/${a.ownerId}`,
        headers: a.auth,
      });
      expect(owner.json().status).toBe('active');
      const tenant = await t.node.app.inject({
        method: 'GET',
        url: `/v1/tenants/${a.tenantId}`,
        headers: a.auth,
      });
      expect(tenant.json()).toMatchObject({ status: 'active', version: 1 });
    });
  });
}
