/** Events identity publishes (topic names; payloads are documented beside each). */
export const TenantEvents = {
  /** `{ tenant_id, name, actor }` */
  created: 'identity.tenant.created',
  /** `{ tenant_id, name, version, actor }` */
  updated: 'identity.tenant.updated',
  /** `{ tenant_id, actor }` — its credentials stop working; its data is kept. */
  deactivated: 'identity.tenant.deactivated',
  /** `{ tenant_id, owner_user_id, root_key_secret, default_policy_set, actor }` — the policy module installs `default_policy_set`. */
  onboarded: 'identity.tenant.onboarded',
} as const;

/** Events of users and API keys. */
export const HumanEvents = {
  /** `{ user_id, tenant_id, role, actor }` */
  userCreated: 'identity.user.created',
  /** `{ user_id, tenant_id, actor }` */
  userDisabled: 'identity.user.disabled',
  /** `{ api_key_id, tenant_id, role, actor }` */
  apiKeyCreated: 'identity.api_key.created',
  /** `{ api_key_id, tenant_id, actor }` */
  apiKeyRevoked: 'identity.api_key.revoked',
} as const;
