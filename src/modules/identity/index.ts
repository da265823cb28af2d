/**
 * The identity module: tenants (this slice), then humans, API keys and agents.
 * Public face: `createIdentityModule(deps)`, and the types other modules may use.
 */
import type { Database } from '../../platform/db/database.js';
import type { WardenModule } from '../../platform/module.js';
import { registerCreateTenant } from './routes/tenants-create.js';
import { registerGetTenant } from './routes/tenants-get.js';
import { registerListTenants } from './routes/tenants-list.js';
import { createIdentityService, type IdentityService } from './service.js';
import { Tenant } from './types.js';

export { TenantEvents } from './events.js';
export type { Tenant } from './types.js';

export interface IdentityModule extends WardenModule {
  readonly service: IdentityService;
}

export function createIdentityModule(deps: { db: Database; onEventsCommitted: () => void }): IdentityModule {
  const service = createIdentityService(deps);
  return {
    name: 'identity',
    service,
    registerRoutes(app) {
      app.addSchema(Tenant);
      registerCreateTenant(app, service);
      registerListTenants(app, service);
      registerGetTenant(app, service);
    },
  };
}
