/** Events identity publishes (topic names; payloads are documented beside each). */
export const TenantEvents = {
  /** `{ tenant_id, name, actor }` */
  created: 'identity.tenant.created',
} as const;
