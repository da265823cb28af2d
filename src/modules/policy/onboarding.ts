/**
 * The consumer of identity's `identity.tenant.onboarded`: installs the default policy set the
 * event names (`default_policy_set`, today always `warden/default`) as the tenant's active
 * version, unless the tenant already has a policy.
 *
 * Idempotent by event id twice over: the bus runs the handler in the transaction that marks the
 * delivery (consumer, event id) done, so a delivered event is never handled again; and the install
 * itself is a no-op once the tenant has any policy, so even a replayed dead letter changes nothing.
 * Only the event's payload is read: this module never imports identity.
 */
import type { Consumer, DomainEvent } from '../../platform/events/bus.js';
import type { Principal, PrincipalKind } from '../../platform/http/auth.js';
import { isUuid } from '../../platform/ids.js';
import { DEFAULT_POLICY, DEFAULT_POLICY_SET } from './default-policy.js';
import type { PolicyService } from './service.js';

/** Identity's topic (its events.ts); the payload is `{ tenant_id, default_policy_set, actor, … }`. */
export const TENANT_ONBOARDED_TOPIC = 'identity.tenant.onboarded';
export const ONBOARDING_CONSUMER = 'policy.onboarding';

const KINDS: readonly PrincipalKind[] = ['operator', 'user', 'api_key', 'agent'];

/** The onboarding actor (`kind:id`) as the principal the transitions are recorded under. */
function actorPrincipal(actor: unknown, tenantId: string): Principal {
  const text = typeof actor === 'string' ? actor : '';
  const at = text.indexOf(':');
  const kind = text.slice(0, at) as PrincipalKind;
  if (at > 0 && at < text.length - 1 && KINDS.includes(kind))
    return { kind, id: text.slice(at + 1), tenantId, roles: [] };
  return { kind: 'operator', id: 'operator', tenantId, roles: [] };
}

export interface OnboardingConsumerDeps {
  policies: Pick<PolicyService, 'installInitial'>;
  /** After the install: drop this node's cached head (other nodes see it within their head poll). */
  onInstalled: (tenantId: string) => void;
  log: { warn(obj: object, msg: string): void };
}

/**
 * @example
 *   bus.subscribe(createOnboardingConsumer({ policies, onInstalled: (t) => decisions.invalidate(t), log }));
 */
export function createOnboardingConsumer(deps: OnboardingConsumerDeps): Consumer {
  return {
    name: ONBOARDING_CONSUMER,
    topics: [TENANT_ONBOARDED_TOPIC],
    async handle(event: DomainEvent, trx) {
      const p = event.payload as { tenant_id?: unknown; default_policy_set?: unknown; actor?: unknown };
      const tenantId = event.tenantId;
      if (!tenantId || !isUuid(tenantId) || p.tenant_id !== tenantId)
        throw new Error(`onboarding event ${event.id} names no tenant, or two different ones`);
      if (p.default_policy_set !== DEFAULT_POLICY_SET)
        // Thrown, not skipped: the delivery ends up in the dead letters, visible and replayable
        // once this node knows the set. Meanwhile the tenant has no policy: default deny.
        throw new Error(
          `onboarding event ${event.id} asks for policy set ${JSON.stringify(p.default_policy_set)}; this node installs only ${DEFAULT_POLICY_SET}`,
        );
      const r = await deps.policies.installInitial(
        trx,
        tenantId,
        actorPrincipal(p.actor, tenantId),
        DEFAULT_POLICY,
        { default_policy_set: DEFAULT_POLICY_SET, event_id: event.id },
      );
      if (!r.installed)
        deps.log.warn(
          { tenant_id: tenantId, event_id: event.id },
          'tenant already has a policy; default policy set not installed',
        );
      // Before the delivery commits: a decision in between may cache the old head again, and the
      // head poll (policy.heads.seq) corrects it within headPollMs.
      deps.onInstalled(tenantId);
    },
  };
}
