/**
 * The `risk` variable: a 0–100 score computed from the request's features, with the factors that
 * raised it, so a rule such as `risk.score > 70` can be explained to the agent and to the approver.
 *
 * The points are fixed and documented (README.md) rather than learned: a policy author must be able
 * to predict the score from the request. Pure; no I/O.
 */
import type { Risk } from './types.js';

/** What the score reads. Loosely typed on purpose: the facts are request JSON. */
export interface RiskFeatures {
  readonly agent: { readonly trust_level?: unknown; readonly tier?: unknown };
  readonly action: string;
  readonly context?: { readonly [key: string]: unknown } | undefined;
  readonly resourceAttributes?: { readonly [key: string]: unknown } | undefined;
  /** Delegation hops between the token's first holder and the agent (0 = no delegation). */
  readonly delegationDepth?: number | undefined;
}

/** Verbs whose effects are hard to undo. */
const DESTRUCTIVE_VERBS = new Set([
  'delete',
  'destroy',
  'drop',
  'exec',
  'execute',
  'transfer',
  'pay',
  'write',
]);

/**
 * Scores a request.
 *
 * @example
 *   computeRisk({ agent: { trust_level: 'untrusted' }, action: 'sandbox.create', context: { privileged: true } });
 *   // { score: 55, factors: [{ name: 'untrusted_agent', points: 30, … }, { name: 'privileged', points: 25, … }] }
 */
export function computeRisk(f: RiskFeatures): Risk {
  const factors: Risk['factors'] = [];
  const trust = f.agent.trust_level;
  if (trust === 'suspended')
    factors.push({ name: 'suspended_agent', points: 60, detail: 'the agent is suspended' });
  else if (trust !== 'trusted')
    factors.push({
      name: 'untrusted_agent',
      points: 30,
      detail: `agent trust level is ${String(trust ?? 'unknown')}`,
    });
  const c = f.context;
  if (c) {
    if (c.privileged === true)
      factors.push({ name: 'privileged', points: 25, detail: 'context.privileged is true' });
    if (c.egress === 'external' || c.egress === true || c.network === 'external')
      factors.push({ name: 'external_egress', points: 20, detail: 'the action reaches external networks' });
    const cost = c.estimated_cost;
    if (typeof cost === 'number' && Number.isFinite(cost)) {
      if (cost > 500) factors.push({ name: 'high_cost', points: 30, detail: `estimated cost ${cost} > 500` });
      else if (cost > 50)
        factors.push({ name: 'high_cost', points: 20, detail: `estimated cost ${cost} > 50` });
    }
    if (c.contains_pii === true)
      factors.push({ name: 'pii', points: 15, detail: 'context.contains_pii is true' });
  }
  const depth = f.delegationDepth ?? 0;
  if (depth > 0)
    factors.push({
      name: 'delegation_depth',
      points: Math.min(15, 5 * depth),
      detail: `${depth} delegation hop(s)`,
    });
  const verb = f.action.slice(f.action.lastIndexOf('.') + 1).toLowerCase();
  if (DESTRUCTIVE_VERBS.has(verb))
    factors.push({ name: 'destructive_action', points: 10, detail: `'${verb}' is hard to undo` });
  const env = f.resourceAttributes?.environment ?? f.resourceAttributes?.env;
  if (env === 'prod' || env === 'production')
    factors.push({ name: 'production_resource', points: 10, detail: 'the resource is in production' });
  let score = 0;
  for (const factor of factors) score += factor.points;
  return { score: Math.min(100, score), factors };
}
