/**
 * Identity operations, pure of HTTP. Each takes the caller's principal so tenant scoping is decided
 * here once: the operator works as the owner, everyone else inside `withTenant` (RLS).
 */
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';
import { decodeCursor, page } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { IdentityProblems } from './errors.js';
import { TenantEvents } from './events.js';
import * as store from './store.js';
import type { Tenant } from './types.js';

export interface IdentityServiceDeps {
  db: Database;
  /** Called after a commit that wrote events, so they are relayed at once. */
  onEventsCommitted: () => void;
}

export function createIdentityService({ db, onEventsCommitted }: IdentityServiceDeps) {
  /** The operator sees every tenant; any other principal only its own (enforced by RLS too). */
  function scoped<T>(principal: Principal, fn: (trx: Tx) => Promise<T>): Promise<T> {
    if (principal.kind === 'operator') return db.transaction(fn);
    if (!principal.tenantId) throw new Error('a non-operator principal without a tenant');
    return db.withTenant(principal.tenantId, fn);
  }

  return {
    /**
     * @example
     *   const tenant = await identity.createTenant(operator, { name: 'Acme' });
     */
    async createTenant(principal: Principal, input: { name: string }): Promise<Tenant> {
      const tenant = await db.transaction(async (trx) => {
        const created = await store.insertTenant(trx, { id: newId(), name: input.name });
        if (!created)
          throw IdentityProblems.tenantNameTaken.create(
            `a tenant named ${JSON.stringify(input.name)} exists`,
            { field: 'body.name' },
          );
        await publish(trx, {
          topic: TenantEvents.created,
          tenantId: created.id,
          payload: { tenant_id: created.id, name: created.name, actor: `${principal.kind}:${principal.id}` },
        });
        return created;
      });
      onEventsCommitted();
      return tenant;
    },

    async getTenant(principal: Principal, id: string): Promise<Tenant> {
      const tenant = await scoped(principal, (trx) => store.findTenant(trx, id));
      if (!tenant) throw IdentityProblems.tenantNotFound.create(`no tenant ${id}`);
      return tenant;
    },

    async listTenants(principal: Principal, query: { limit: number; cursor?: string | undefined }) {
      let after: string | undefined;
      if (query.cursor !== undefined) {
        after = decodeCursor(query.cursor);
        if (!after)
          throw IdentityProblems.invalidCursor.create('cursor is not a next_cursor of this list', {
            field: 'query.cursor',
          });
      }
      const rows = await scoped(principal, (trx) =>
        store.listTenants(trx, { after, limit: query.limit + 1 }),
      );
      return page(rows, query.limit);
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
