/**
 * The default policy set a tenant gets at onboarding (`warden/default`), installed as its active
 * version by the onboarding consumer (onboarding.ts) unless the tenant already has a policy.
 *
 * Fail closed but usable: suspended agents are refused everything, untrusted agents are refused
 * risky actions (risk ≥ 60, e.g. a privileged destructive action), costly or high-risk actions
 * wait for an admin's approval, everything else is allowed. A rule that fails to evaluate counts
 * as matching for the deny and approval rules, so a malformed `estimated_cost` asks for approval
 * instead of slipping through. Tenants replace it by enforcing their own version (it is then
 * superseded, and can be rolled back to).
 */
import type { CreatePolicyBody } from './types.js';

/** The marker identity's onboarding announces; the only set this module knows how to install. */
export const DEFAULT_POLICY_SET = 'warden/default';
/** The name of the installed policy (policy names are unique per tenant). */
export const DEFAULT_POLICY_NAME = 'default';
/** `context.estimated_cost` above which an action needs an approval. */
export const DEFAULT_APPROVAL_COST = 100;
/** Risk score from which an untrusted agent is refused, and any agent needs an approval. */
export const DEFAULT_UNTRUSTED_RISK_DENY = 60;
export const DEFAULT_APPROVAL_RISK = 70;

const admins = {
  stages: [{ approvers: [{ role: 'admin' }], quorum: 1 }],
  sla_seconds: 3600,
  channels: [{ kind: 'dashboard' as const }],
};
const trusted = { id: 'agent-t', trust_level: 'trusted' };
const untrusted = { id: 'agent-u', trust_level: 'untrusted' };
const suspended = { id: 'agent-s', trust_level: 'suspended' };

export const DEFAULT_POLICY: CreatePolicyBody = {
  name: DEFAULT_POLICY_NAME,
  description:
    'Installed at onboarding: deny suspended agents, deny risky actions of untrusted agents, require an approval for costly or high-risk actions, allow the rest.',
  rules: [
    {
      id: 'deny-suspended-agent',
      when: "agent.trust_level == 'suspended'",
      effect: 'deny',
      reason: 'the agent is suspended',
    },
    {
      id: 'deny-untrusted-risky',
      when: `agent.trust_level != 'trusted' && risk.score >= ${DEFAULT_UNTRUSTED_RISK_DENY}`,
      effect: 'deny',
      reason: `untrusted agents may not take risky actions (risk score ${DEFAULT_UNTRUSTED_RISK_DENY} or more)`,
    },
    {
      id: 'approve-high-cost',
      when: `has(context.estimated_cost) && context.estimated_cost > ${DEFAULT_APPROVAL_COST}.0`,
      effect: 'require_approval',
      reason: `actions estimated above ${DEFAULT_APPROVAL_COST} need an approval`,
      approval: admins,
    },
    {
      id: 'approve-high-risk',
      when: `risk.score >= ${DEFAULT_APPROVAL_RISK}`,
      effect: 'require_approval',
      reason: `high-risk actions (risk score ${DEFAULT_APPROVAL_RISK} or more) need an approval`,
      approval: admins,
    },
    { id: 'allow-otherwise', when: 'true', effect: 'allow', reason: 'allowed by the default policy' },
  ],
  tests: [
    {
      name: 'a trusted agent acts',
      input: { agent: trusted, action: 'llm.call' },
      expect: { decision: 'allow', rule: 'allow-otherwise' },
    },
    {
      name: 'an untrusted agent makes a cheap, harmless call',
      input: { agent: untrusted, action: 'sandbox.create', context: { estimated_cost: 5 } },
      expect: { decision: 'allow', rule: 'allow-otherwise' },
    },
    {
      name: 'a suspended agent is refused',
      input: { agent: suspended, action: 'llm.call' },
      expect: { decision: 'deny', rule: 'deny-suspended-agent' },
    },
    {
      name: 'an untrusted agent runs a privileged exec',
      input: { agent: untrusted, action: 'sandbox.exec', context: { privileged: true } },
      expect: { decision: 'deny', rule: 'deny-untrusted-risky' },
    },
    {
      name: 'a costly action needs an approval',
      input: { agent: trusted, action: 'sandbox.create', context: { estimated_cost: 250 } },
      expect: { decision: 'pending_approval', rule: 'approve-high-cost' },
    },
    {
      name: 'a cost that is not a number needs an approval (fail closed)',
      input: { agent: trusted, action: 'sandbox.create', context: { estimated_cost: 'lots' } },
      expect: { decision: 'pending_approval', rule: 'approve-high-cost' },
    },
    {
      name: 'a high-risk action of a trusted agent needs an approval',
      input: { agent: trusted, action: 'sandbox.create', risk: { score: 80 } },
      expect: { decision: 'pending_approval', rule: 'approve-high-risk' },
    },
  ],
};
