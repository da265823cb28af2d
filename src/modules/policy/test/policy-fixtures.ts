/**
 * Fixtures for the policy module's tests: rule sets and request helpers over a test node.
 * Test-only (imported by *.test.ts files of this module).
 */
import { registerAgent } from '../../../../test/support/authz-fixtures.js';
import type { TestWarden } from '../../../../test/support/warden.js';
import type { Rule, TestCase } from '../types.js';

export const approvalSpec = {
  stages: [{ approvers: [{ role: 'admin' }], quorum: 1 }],
  sla_seconds: 3600,
  channels: [{ kind: 'dashboard' as const }],
};

/** A small rule set exercising the three effects. */
export const sandboxRules: Rule[] = [
  {
    id: 'no-untrusted-exec',
    actions: ['sandbox.exec'],
    when: "agent.trust_level == 'untrusted'",
    effect: 'deny',
    reason: 'untrusted agents cannot execute code',
  },
  {
    id: 'costly-sandbox',
    actions: ['sandbox.*'],
    when: 'has(context.estimated_cost) && context.estimated_cost > 50.0',
    effect: 'require_approval',
    reason: 'sandboxes over $50 need an approval',
    approval: approvalSpec,
  },
  { id: 'sandboxes', actions: ['sandbox.*'], when: 'true', effect: 'allow', reason: 'sandboxes are allowed' },
];

export const sandboxTests: TestCase[] = [
  {
    name: 'cheap sandbox is allowed',
    input: {
      agent: { id: 'a1', trust_level: 'trusted' },
      action: 'sandbox.create',
      context: { estimated_cost: 5 },
    },
    expect: { decision: 'allow', rule: 'sandboxes' },
  },
  {
    name: 'costly sandbox needs approval',
    input: {
      agent: { id: 'a1', trust_level: 'trusted' },
      action: 'sandbox.create',
      context: { estimated_cost: 80 },
    },
    expect: { decision: 'pending_approval', rule: 'costly-sandbox' },
  },
  {
    name: 'untrusted exec is denied',
    input: { agent: { id: 'a1', trust_level: 'untrusted' }, action: 'sandbox.exec' },
    expect: { decision: 'deny', rule: 'no-untrusted-exec' },
  },
  {
    name: 'other actions fall to the default deny',
    input: { agent: { id: 'a1', trust_level: 'trusted' }, action: 'llm.call' },
    expect: { decision: 'deny', rule: null },
  },
];

let counter = 0;
/** A policy name unique in the test run. */
export function uniqueName(label = 'policy'): string {
  counter++;
  return `${label}-${process.pid}-${counter}`;
}

/** Request helpers bound to a node and a credential. */
export function policyClient(t: TestWarden, auth: Record<string, string>) {
  const call = (
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = auth,
  ) =>
    t.node.app.inject({
      method,
      url,
      headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  return {
    call,
    create: (body: Record<string, unknown>, headers?: Record<string, string>) =>
      call('POST', '/v1/oversight/policies', body, headers),
    addVersion: (id: string, body: Record<string, unknown>) =>
      call('POST', `/v1/oversight/policies/${id}/versions`, body),
    transition: (
      id: string,
      version: number,
      verb: 'propose' | 'enforce' | 'revoke',
      body: Record<string, unknown> = { reason: `${verb} in a test` },
      headers?: Record<string, string>,
    ) => call('POST', `/v1/oversight/policies/${id}/versions/${version}/${verb}`, body, headers),
  };
}

/**
 * Registers an agent in the tenant of `key` (through the SDK: proof of possession over the public
 * API) and mints it a delegation token with `auth`; returns the agent's id and the token.
 */
export async function agentWithToken(
  t: TestWarden,
  key: string,
  auth: Record<string, string>,
  caveats: { actions: string[]; resources: string[] } = { actions: ['sandbox.*'], resources: ['sandbox:*'] },
): Promise<{ agentId: string; token: string }> {
  const agent = await registerAgent(t, key, { name: uniqueName('agent') });
  const minted = await t.node.app.inject({
    method: 'POST',
    url: '/v1/delegations',
    headers: auth,
    payload: { agent_id: agent.id, ...caveats },
  });
  if (minted.statusCode !== 201) throw new Error(`mint delegation: ${minted.statusCode} ${minted.body}`);
  return { agentId: agent.id, token: minted.json().token as string };
}
