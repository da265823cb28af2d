/**
 * Tenant root keys: the 32-byte HMAC keys every delegation token chain starts from.
 *
 * Where a key lives: the platform secrets store (envelope-encrypted) under `tenant/<id>/root-key`,
 * the name onboarding uses. A tenant created without onboarding gets its key on first use: the first
 * mint claims the tenant's row in `authz.root_keys` and creates the secret in the same transaction, so
 * two nodes minting the first token at once still end up with one key. A key authz created is pinned
 * to its secret version (a later onboarding stores a new version under the same name; pinning keeps the
 * tokens minted before it valid). A key onboarding created is read at its latest version.
 *
 * Verification needs the key synchronously (verifyTokenGrant's `rootKeyFor`), so keys are kept in
 * memory once loaded: a tenant's first cold verification on a node loads it, later ones read the map.
 * Keys never change once created, so a loaded key never goes stale. A tenant without a key is
 * remembered as such for NEGATIVE_TTL_MS, so a flood of tokens naming unknown tenants costs one
 * database read per tenant per interval, not one per request.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUuid } from '../../platform/ids.js';
import type { SecretsStore } from '../../platform/secrets.js';
import * as store from './store.js';

const NEGATIVE_TTL_MS = 2_000;
const MAX_TENANTS = 100_000;

export const rootKeySecretName = (tenantId: string) => `tenant/${tenantId}/root-key`;

export interface RootKeys {
  /** The key if this node has it in memory; never touches the database. */
  cached(tenantId: string): Uint8Array | undefined;
  /** Loads a tenant's key into memory; false if the tenant has none (or is not a tenant id). */
  load(tenantId: string): Promise<boolean>;
  /** The tenant's key, created (in a transaction) if it has none yet: the mint path. */
  ensure(tenantId: string): Promise<Uint8Array>;
}

export function createRootKeys(deps: { db: Database; secrets: SecretsStore; clock: Clock }): RootKeys {
  const { db, secrets, clock } = deps;
  const keys = new Map<string, Uint8Array>();
  const missing = new Map<string, number>();

  function remember(tenantId: string, key: Uint8Array): Uint8Array {
    if (keys.size >= MAX_TENANTS) keys.delete(keys.keys().next().value as string);
    keys.set(tenantId, key);
    missing.delete(tenantId);
    return key;
  }

  /**
   * Inside `ensure` the read must use its transaction: on PGlite (one connection) asking the pool
   * for another connection there fails, and on PostgreSQL it would hold two.
   */
  async function read(
    tenantId: string,
    row: store.RootKeyRow,
    ex: Parameters<SecretsStore['get']>[0] = db.kysely,
  ): Promise<Buffer> {
    // Owner transaction: the secrets table is kernel-owned and not open to the tenant role.
    const key = await secrets.get(ex, row.secret_name, row.secret_version ?? undefined);
    if (!key) throw new Error(`the root key secret of tenant ${tenantId} is missing`);
    return key;
  }

  return {
    cached(tenantId) {
      return keys.get(tenantId);
    },

    async load(tenantId) {
      if (keys.has(tenantId)) return true;
      if (!isUuid(tenantId)) return false;
      const until = missing.get(tenantId);
      if (until !== undefined && until > clock.now()) return false;
      const row = await store.findRootKey(db.kysely, tenantId.toLowerCase());
      if (!row) {
        if (missing.size >= MAX_TENANTS) missing.clear();
        missing.set(tenantId, clock.now() + NEGATIVE_TTL_MS);
        return false;
      }
      remember(tenantId, await read(tenantId, row));
      return true;
    },

    async ensure(tenantId) {
      const known = keys.get(tenantId);
      if (known) return known;
      const key = await db.transaction(async (trx) => {
        const name = rootKeySecretName(tenantId);
        const existing = await store.findRootKey(trx, tenantId);
        if (existing) return read(tenantId, existing, trx);
        if (!(await store.claimRootKey(trx, { tenantId, secretName: name }))) {
          // Another transaction created it meanwhile; its row is visible now that it committed.
          const row = await store.findRootKey(trx, tenantId);
          if (!row) throw new Error(`the root key row of tenant ${tenantId} vanished`);
          return read(tenantId, row, trx);
        }
        const onboarded = await secrets.get(trx, name);
        if (onboarded) return onboarded;
        const created = randomBytes(32);
        const version = await secrets.put(trx, name, created, { tenantId });
        await store.pinRootKeyVersion(trx, tenantId, version);
        return created;
      });
      return remember(tenantId, key);
    },
  };
}
