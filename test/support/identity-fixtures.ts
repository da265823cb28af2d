/**
 * Test fixtures for identity's route tests: a tenant onboarded through the public API (operator
 * token → tenant → owner, owner API key), and request helpers bound to a credential.
 */
import type { TestWarden } from './warden.js';

export interface OnboardedTenant {
  tenantId: string;
  ownerId: string;
  ownerEmail: string;
  ownerPassword: string;
  /** The owner API key's secret. */
  key: string;
  keyId: string;
  /** `authorization` header of the owner API key. */
  auth: { authorization: string };
}

let counter = 0;

export async function onboardTenant(t: TestWarden, label = 'T'): Promise<OnboardedTenant> {
  counter++;
  const unique = `${label}-${process.pid}-${Date.now()}-${counter}`;
  const created = await t.node.app.inject({
    method: 'POST',
    url: '/v1/tenants',
    headers: t.auth,
    payload: { name: `Tenant ${unique}` },
  });
  if (created.statusCode !== 201) throw new Error(`create tenant: ${created.statusCode} ${created.body}`);
  const tenantId = created.json().id as string;
  const ownerEmail = `owner-${unique}@example.com`.toLowerCase();
  const ownerPassword = 'correct horse battery staple';
  const res = await t.node.app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenantId}/onboard`,
    headers: t.auth,
    payload: { owner_email: ownerEmail, owner_password: ownerPassword },
  });
  if (res.statusCode !== 201) throw new Error(`onboard: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return {
    tenantId,
    ownerId: body.owner.id,
    ownerEmail,
    ownerPassword,
    key: body.api_key.key,
    keyId: body.api_key.id,
    auth: { authorization: `Bearer ${body.api_key.key}` },
  };
}

/** Create an API key with `auth` and return its secret, id and header. */
export async function createKey(
  t: TestWarden,
  auth: Record<string, string>,
  body: Record<string, unknown>,
): Promise<{ key: string; id: string; auth: { authorization: string } }> {
  const res = await t.node.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth, payload: body });
  if (res.statusCode !== 201) throw new Error(`create key: ${res.statusCode} ${res.body}`);
  const k = res.json();
  return { key: k.key, id: k.id, auth: { authorization: `Bearer ${k.key}` } };
}
