/**
 * The built-in policy templates, and how a template's parameters become rules.
 *
 * A template's rules write `{{name}}` where a parameter goes; deploying renders each value as a
 * CEL literal of its declared type (never pasted as text, so a value cannot inject an expression)
 * and the result is a normal draft, checked when proposed like any other.
 */
import type { Rule, TestCase } from './types.js';

export type ParameterType = 'number' | 'integer' | 'string' | 'string_list' | 'boolean';

export interface TemplateParameter {
  readonly name: string;
  readonly type: ParameterType;
  readonly description: string;
  readonly default?: unknown;
}

export interface TemplateContent {
  readonly parameters: readonly TemplateParameter[];
  readonly rules: readonly Rule[];
  readonly tests: readonly TestCase[];
}

export interface BuiltinTemplate extends TemplateContent {
  readonly name: string;
  readonly description: string;
}

const admins = {
  stages: [{ approvers: [{ role: 'admin' }], quorum: 1 }],
  sla_seconds: 3600,
  channels: [{ kind: 'dashboard' as const }],
};
const trusted = { id: 'agent-t', trust_level: 'trusted' };
const untrusted = { id: 'agent-u', trust_level: 'untrusted' };

export const BUILTIN_TEMPLATES: readonly BuiltinTemplate[] = [
  {
    name: 'budget-guard',
    description:
      'Deny actions once the agent’s spend today passes a budget (reads `usage.spend_today`, from metering).',
    parameters: [
      { name: 'daily_budget', type: 'number', description: 'Spend allowed per day', default: 100 },
    ],
    rules: [
      {
        id: 'over-budget',
        when: 'has(usage.spend_today) && usage.spend_today >= {{daily_budget}}',
        effect: 'deny',
        reason: 'the daily budget is spent',
      },
      { id: 'within-budget', when: 'true', effect: 'allow', reason: 'within budget' },
    ],
    tests: [
      {
        name: 'under budget',
        input: { agent: trusted, action: 'llm.call', usage: { spend_today: 10 } },
        expect: { decision: 'allow', rule: 'within-budget' },
      },
      {
        name: 'over budget',
        input: { agent: trusted, action: 'llm.call', usage: { spend_today: 1000 } },
        expect: { decision: 'deny', rule: 'over-budget' },
      },
    ],
  },
  {
    name: 'egress-allowlist',
    description: 'Allow network egress only to listed hosts (`context.host` of `network.*` actions).',
    parameters: [
      {
        name: 'hosts',
        type: 'string_list',
        description: 'Hosts that may be reached',
        default: ['api.openai.com'],
      },
    ],
    rules: [
      {
        id: 'egress-unlisted',
        actions: ['network.*'],
        when: '!has(context.host) || !(context.host in {{hosts}})',
        effect: 'deny',
        reason: 'the host is not on the egress allowlist',
      },
      { id: 'egress-listed', actions: ['network.*'], when: 'true', effect: 'allow', reason: 'listed host' },
    ],
    tests: [
      {
        name: 'listed',
        input: { agent: trusted, action: 'network.connect', context: { host: 'api.openai.com' } },
        expect: { decision: 'allow', rule: 'egress-listed' },
      },
      {
        name: 'unlisted',
        input: { agent: trusted, action: 'network.connect', context: { host: 'evil.example' } },
        expect: { decision: 'deny', rule: 'egress-unlisted' },
      },
    ],
  },
  {
    name: 'untrusted-agent-approval',
    description: 'Untrusted agents need a human approval for everything they do.',
    parameters: [],
    rules: [
      {
        id: 'untrusted-needs-approval',
        when: "agent.trust_level != 'trusted'",
        effect: 'require_approval',
        reason: 'untrusted agents need an approval',
        approval: admins,
      },
      { id: 'trusted', when: 'true', effect: 'allow', reason: 'trusted agent' },
    ],
    tests: [
      {
        name: 'untrusted',
        input: { agent: untrusted, action: 'llm.call' },
        expect: { decision: 'pending_approval', rule: 'untrusted-needs-approval' },
      },
      {
        name: 'trusted',
        input: { agent: trusted, action: 'llm.call' },
        expect: { decision: 'allow', rule: 'trusted' },
      },
    ],
  },
  {
    name: 'high-cost-sandbox-approval',
    description:
      'Sandbox creation needs an approval when it is privileged, reaches external networks, runs an untrusted agent, costs more than the threshold, or scores above the risk limit.',
    parameters: [
      {
        name: 'max_cost',
        type: 'number',
        description: 'Estimated cost above which approval is needed',
        default: 50,
      },
      {
        name: 'max_risk',
        type: 'integer',
        description: 'Risk score above which approval is needed',
        default: 70,
      },
    ],
    rules: [
      {
        id: 'high-risk-sandbox',
        actions: ['sandbox.create'],
        when: "(has(context.privileged) && context.privileged == true) || (has(context.egress) && context.egress == 'external') || agent.trust_level != 'trusted' || (has(context.estimated_cost) && context.estimated_cost > {{max_cost}}) || risk.score > {{max_risk}}",
        effect: 'require_approval',
        reason: 'high-risk sandboxes need an approval',
        approval: admins,
      },
      { id: 'sandbox', actions: ['sandbox.*'], when: 'true', effect: 'allow', reason: 'sandbox allowed' },
    ],
    tests: [
      {
        name: 'cheap and trusted',
        input: { agent: trusted, action: 'sandbox.create', context: { estimated_cost: 5 } },
        expect: { decision: 'allow', rule: 'sandbox' },
      },
      {
        name: 'expensive',
        input: { agent: trusted, action: 'sandbox.create', context: { estimated_cost: 80 } },
        expect: { decision: 'pending_approval', rule: 'high-risk-sandbox' },
      },
      {
        name: 'privileged',
        input: { agent: trusted, action: 'sandbox.create', context: { privileged: true } },
        expect: { decision: 'pending_approval', rule: 'high-risk-sandbox' },
      },
      {
        name: 'untrusted agent',
        input: { agent: untrusted, action: 'sandbox.create' },
        expect: { decision: 'pending_approval', rule: 'high-risk-sandbox' },
      },
    ],
  },
  {
    name: 'business-hours-only',
    description: 'Allow actions only during business hours in a time zone, Monday to Friday.',
    parameters: [
      { name: 'time_zone', type: 'string', description: 'IANA time zone', default: 'UTC' },
      { name: 'start_hour', type: 'integer', description: 'First hour allowed (0–23)', default: 9 },
      { name: 'end_hour', type: 'integer', description: 'First hour refused (1–24)', default: 17 },
    ],
    rules: [
      {
        id: 'business-hours',
        when: 'now.getDayOfWeek({{time_zone}}) >= 1 && now.getDayOfWeek({{time_zone}}) <= 5 && now.getHours({{time_zone}}) >= {{start_hour}} && now.getHours({{time_zone}}) < {{end_hour}}',
        effect: 'allow',
        reason: 'inside business hours',
      },
    ],
    tests: [
      {
        name: 'monday 10:00',
        input: { agent: trusted, action: 'llm.call', now: '2026-03-02T10:00:00Z' },
        expect: { decision: 'allow', rule: 'business-hours' },
      },
      {
        name: 'sunday',
        input: { agent: trusted, action: 'llm.call', now: '2026-03-01T10:00:00Z' },
        expect: { decision: 'deny', rule: null },
      },
      {
        name: 'monday 20:00',
        input: { agent: trusted, action: 'llm.call', now: '2026-03-02T20:00:00Z' },
        expect: { decision: 'deny', rule: null },
      },
    ],
  },
  {
    name: 'model-allowlist',
    description: 'Allow LLM calls only to listed models (`context.model`).',
    parameters: [
      {
        name: 'models',
        type: 'string_list',
        description: 'Models that may be called',
        default: ['gpt-4o-mini'],
      },
    ],
    rules: [
      {
        id: 'listed-model',
        actions: ['llm.*'],
        when: 'has(context.model) && context.model in {{models}}',
        effect: 'allow',
        reason: 'listed model',
      },
    ],
    tests: [
      {
        name: 'listed',
        input: { agent: trusted, action: 'llm.call', context: { model: 'gpt-4o-mini' } },
        expect: { decision: 'allow', rule: 'listed-model' },
      },
      {
        name: 'unlisted',
        input: { agent: trusted, action: 'llm.call', context: { model: 'other' } },
        expect: { decision: 'deny', rule: null },
      },
    ],
  },
  {
    name: 'pii-in-prompt-deny',
    description:
      'Deny LLM calls whose prompt contains personal data (`context.contains_pii`, or an email address or card-like number in `context.prompt`).',
    parameters: [],
    rules: [
      {
        id: 'pii-in-prompt',
        actions: ['llm.*'],
        when: "(has(context.contains_pii) && context.contains_pii == true) || (has(context.prompt) && context.prompt.matches('[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\\\.[A-Za-z]{2,}|\\\\b(?:\\\\d[ -]?){13,16}\\\\b'))",
        effect: 'deny',
        reason: 'the prompt contains personal data',
      },
      { id: 'llm', actions: ['llm.*'], when: 'true', effect: 'allow', reason: 'no personal data found' },
    ],
    tests: [
      {
        name: 'clean',
        input: { agent: trusted, action: 'llm.call', context: { prompt: 'summarise the report' } },
        expect: { decision: 'allow', rule: 'llm' },
      },
      {
        name: 'email',
        input: { agent: trusted, action: 'llm.call', context: { prompt: 'mail jane@example.com' } },
        expect: { decision: 'deny', rule: 'pii-in-prompt' },
      },
      {
        name: 'flagged',
        input: { agent: trusted, action: 'llm.call', context: { contains_pii: true } },
        expect: { decision: 'deny', rule: 'pii-in-prompt' },
      },
    ],
  },
  {
    name: 'delegation-depth-limit',
    description: 'Deny requests that arrive through more delegation hops than allowed (`principal.depth`).',
    parameters: [{ name: 'max_depth', type: 'integer', description: 'Hops allowed', default: 2 }],
    rules: [
      {
        id: 'too-deep',
        when: 'has(principal.depth) && principal.depth > {{max_depth}}',
        effect: 'deny',
        reason: 'the delegation chain is too long',
      },
      { id: 'shallow', when: 'true', effect: 'allow', reason: 'delegation depth within the limit' },
    ],
    tests: [
      {
        name: 'direct',
        input: { agent: trusted, action: 'llm.call', principal: { depth: 0 } },
        expect: { decision: 'allow', rule: 'shallow' },
      },
      {
        name: 'deep',
        input: { agent: trusted, action: 'llm.call', principal: { depth: 5 } },
        expect: { decision: 'deny', rule: 'too-deep' },
      },
    ],
  },
];

/**
 * A value as a CEL literal of its declared type, or an error message.
 *
 * @example
 *   celLiteral('string_list', ['a', "b'c"]); // { ok: true, text: '["a", "b\'c"]' }
 */
export function celLiteral(
  type: ParameterType,
  value: unknown,
): { ok: true; text: string } | { ok: false; message: string } {
  const str = (s: string) => JSON.stringify(s); // a JSON string is a valid CEL string literal
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? { ok: true, text: Number.isInteger(value) ? `${value}.0` : String(value) }
        : { ok: false, message: 'must be a finite number' };
    case 'integer':
      return Number.isSafeInteger(value)
        ? { ok: true, text: String(value) }
        : { ok: false, message: 'must be an integer' };
    case 'boolean':
      return typeof value === 'boolean'
        ? { ok: true, text: String(value) }
        : { ok: false, message: 'must be true or false' };
    case 'string':
      return typeof value === 'string' && value.length <= 500
        ? { ok: true, text: str(value) }
        : { ok: false, message: 'must be a string of at most 500 characters' };
    case 'string_list':
      return Array.isArray(value) &&
        value.length <= 200 &&
        value.every((v) => typeof v === 'string' && v.length <= 500)
        ? { ok: true, text: `[${value.map((v) => str(v as string)).join(', ')}]` }
        : { ok: false, message: 'must be a list of at most 200 strings' };
  }
}

/**
 * A template's rules with its parameters filled in (defaults for those not given).
 *
 * @example
 *   renderTemplate(template, { max_cost: 20 }); // { ok: true, rules: [...] }
 */
export function renderTemplate(
  t: TemplateContent,
  values: Readonly<Record<string, unknown>>,
): { ok: true; rules: Rule[] } | { ok: false; errors: { field: string; message: string }[] } {
  const errors: { field: string; message: string }[] = [];
  const literals = new Map<string, string>();
  for (const name of Object.keys(values))
    if (!t.parameters.some((p) => p.name === name))
      errors.push({ field: `body.parameters.${name}`, message: 'is not a parameter of this template' });
  for (const p of t.parameters) {
    const value = Object.hasOwn(values, p.name) ? values[p.name] : p.default;
    if (value === undefined) {
      errors.push({ field: `body.parameters.${p.name}`, message: 'is required' });
      continue;
    }
    const lit = celLiteral(p.type, value);
    if (lit.ok) literals.set(p.name, lit.text);
    else errors.push({ field: `body.parameters.${p.name}`, message: lit.message });
  }
  if (errors.length > 0) return { ok: false, errors };
  const rules = t.rules.map((r) => ({
    ...r,
    when: r.when.replace(/\{\{([a-z][a-z0-9_]*)\}\}/g, (m, name: string) => literals.get(name) ?? m),
  }));
  return { ok: true, rules };
}
