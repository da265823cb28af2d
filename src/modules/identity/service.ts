/**
 * Identity operations, pure of HTTP. Each takes the caller's principal so tenant scoping is decided
 * here once: the operator works as the owner, everyone else inside `withTenant` (RLS).
 */
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';
import { decodeCursor, page } from '../../platform/http/pagination.js';
import { Problems } from '../../platform/http/problem.js';
import { newId } from '../../platform/ids.js';
import { actorOf, recordAudit } from './audit-records.js';
import { IdentityProblems } from './errors.js';
import { TenantEvents } from './events.js';
import { recordRevocation } from './humans-store.js';
import * as store from './store.js';
import type { Tenant } from './types.js';

export interface IdentityServiceDeps {
  db: Database;
  /** Called after a commit that wrote events, so they are relayed at once. */
  onEventsCommitted: () => void;
  /** Called after a tenant is deactivated, so this node's credential cache drops its entries. */
  onTenantDeactivated?: (tenantId: string) => void;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

export function createIdentityService({ db, onEventsCommitted, onTenantDeactivated }: IdentityServiceDeps) {
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

    /**
     * Rename a tenant; with `expectedVersion` (from If-Match) only if nobody changed it since.
     *
     * @example
     *   const t = await identity.updateTenant(owner, id, { name: 'Acme Ltd' }, 3); // 412 if version ≠ 3
     */
    async updateTenant(
      principal: Principal,
      id: string,
      input: { name: string },
      expectedVersion: number | null,
    ): Promise<Tenant> {
      let tenant: Tenant;
      try {
        tenant = await scoped(principal, async (trx) => {
          const updated = await store.updateTenantName(trx, id, input.name, expectedVersion);
          if (!updated) {
            const current = await store.findTenant(trx, id);
            if (!current) throw IdentityProblems.tenantNotFound.create(`no tenant ${id}`);
            if (current.status !== 'active')
              throw IdentityProblems.tenantDeactivated.create(`tenant ${id} is deactivated`);
            throw Problems.preconditionFailed.create(
              `If-Match "${expectedVersion}" does not match the current version "${current.version}"`,
              { field: 'header.if-match' },
            );
          }
          await publish(trx, {
            topic: TenantEvents.updated,
            tenantId: id,
            payload: {
              tenant_id: id,
              name: updated.name,
              version: updated.version,
              actor: actorOf(principal),
            },
          });
          await recordAudit(trx, {
            tenantId: id,
            eventType: 'tenant.updated',
            actor: actorOf(principal),
            resourceId: id,
            action: 'update',
            outcome: 'success',
            metadata: { name: updated.name, version: updated.version },
          });
          return updated;
        });
      } catch (err) {
        if (isUniqueViolation(err))
          throw IdentityProblems.tenantNameTaken.create(
            `a tenant named ${JSON.stringify(input.name)} exists`,
            {
              field: 'body.name',
            },
          );
        throw err;
      }
      onEventsCommitted();
      return tenant;
    },

    /**
     * Deactivate a tenant: its data is kept, every credential of it stops working (on this node at
     * once, on the others within one revocation-poll interval). Repeating it is a no-op.
     */
    async deactivateTenant(principal: Principal, id: string): Promise<Tenant> {
      const tenant = await db.transaction(async (trx) => {
        const done = await store.deactivateTenant(trx, id);
        if (!done) {
          const current = await store.findTenant(trx, id);
          if (!current) throw IdentityProblems.tenantNotFound.create(`no tenant ${id}`);
          return current;
        }
        await recordRevocation(trx, { tenantId: id, kind: 'tenant', subjectId: id });
        await publish(trx, {
          topic: TenantEvents.deactivated,
          tenantId: id,
          payload: { tenant_id: id, actor: actorOf(principal) },
        });
        await recordAudit(trx, {
          tenantId: id,
          eventType: 'tenant.deactivated',
          actor: actorOf(principal),
          resourceId: id,
          action: 'deactivate',
          outcome: 'success',
        });
        return done;
      });
      onTenantDeactivated?.(id);
      onEventsCommitted();
      return tenant;
    },

    async listTenants(principal: Principal, query: { limit: number; cursor?: string | undefined }) {
      let after: string | undefined;
      if (query.cursor !== undefined) {
        after = decodeCursor(query.cursor);
        if (!after)
          throw IdentityProblems.invalidCursor.create('cursor is not a next_cursor of this list', {
            field: 'querystring.cursor',
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
