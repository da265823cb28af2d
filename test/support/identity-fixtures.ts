/**
 * Test fixtures for identity's route tests: a tenant onboarded through the public API (operator
 * token → tenant → owner, owner API key), and request helpers bound to a credential.
 */
import { sql } from 'kysely';
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
  await settle(t, tenantId);
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

/**
 * Onboarding sets off work through the bus (the policy module installs the default policy set,
 * whose audit records then reach the audit log): wait until every event of the tenant is relayed
 * and delivered, and in-process audit appends are written, so a test starts from a settled tenant
 * (one that counts audit records would otherwise race the install).
 */
export async function settle(t: TestWarden, tenantId: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Only this node's consumers: another node's (or a stopped node's) deliveries are not ours to wait for.
  const consumers = t.node.modules.flatMap((m) => m.consumers?.() ?? []).map((c) => c.name);
  for (;;) {
    await t.node.bus.flush();
    const { rows } = await sql<{ n: number }>`
      select (select count(*) from platform.outbox where tenant_id = ${tenantId} and relayed_at is null)
           + (select count(*) from platform.event_deliveries d join platform.outbox o on o.id = d.event_id
              where o.tenant_id = ${tenantId} and d.status = 'pending'
                and d.consumer = any(${consumers}::text[])) as n`.execute(t.node.db.kysely);
    if (Number(rows[0]?.n ?? 0) === 0) break;
    if (Date.now() > deadline)
      throw new Error(`tenant ${tenantId}: events still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const m of t.node.modules) {
    const flush = (m as { flush?: () => Promise<void> }).flush;
    if (typeof flush === 'function') await flush.call(m);
  }
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
