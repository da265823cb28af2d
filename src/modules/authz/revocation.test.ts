/**
 * Revocation reaches every node within one second, by push: node A revokes (outbox event in the revoke
 * transaction), node B — which had the token verified and cached — refuses it on its next check because
 * its own revocation consumer evicted it, not because it read the database.
 *
 * Nodes here are the parts that matter (database handle, event bus, authz module) on one database:
 * PostgreSQL with two connection pools, or one in-memory PGlite shared by two nodes in this process
 * (PGlite cannot be opened by two processes). Each runs with the in-process bus and, when
 * WARDEN_TEST_NATS_URL is set, with NATS JetStream (a stream of its own, so no other test sees it).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../../../test/support/backends.js';
import { drivers } from '../../../test/support/drivers.js';
import { MASTER_KEY } from '../../../test/support/warden.js';
import { MIGRATION_SOURCES } from '../../module-list.js';
import { systemClock } from '../../platform/clock.js';
import { type Database, openDatabase } from '../../platform/db/database.js';
import { migrate } from '../../platform/db/migrate.js';
import { EventBus } from '../../platform/events/bus.js';
import { NatsTransport } from '../../platform/events/nats-transport.js';
import type { Principal } from '../../platform/http/auth.js';
import { parseMasterKeys, SecretsStore } from '../../platform/secrets.js';
import { type AuthzModule, createAuthzModule } from './index.js';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
const natsUrl = backendUrl('nats');
const transports = ['in-process', ...(natsUrl ? ['nats'] : [])] as const;

interface Node {
  bus: EventBus;
  authz: AuthzModule;
}

for (const driver of drivers()) {
  for (const transport of transports) {
    describe(`delegation revocation across nodes (${driver.name}, ${transport})`, () => {
      let url: string | undefined;
      const dbs: Database[] = [];
      const nodes: Node[] = [];
      const streamId = randomBytes(4).toString('hex');
      const natsTransports: NatsTransport[] = [];

      async function database(): Promise<Database> {
        // One PGlite per process: the nodes share it. PostgreSQL: each node its own pool.
        if (driver.name === 'pglite' && dbs.length > 0) return dbs[0]!;
        const db = await openDatabase({ url, dataDir: 'memory://' });
        dbs.push(db);
        return db;
      }

      async function startNode(nodeId: string): Promise<Node> {
        const db = await database();
        const nats =
          transport === 'nats'
            ? new NatsTransport({
                url: natsUrl!,
                stream: `WARDEN_T_AUTHZ_${streamId.toUpperCase()}`,
                subjectPrefix: `authz_${streamId}.events`,
                log,
              })
            : undefined;
        if (nats) natsTransports.push(nats);
        // The default poll interval of a real node: the in-process bus must make the second on its own.
        const bus = new EventBus({ db, transport: nats, log, pollMs: 250, retryBaseMs: 20, retryMaxMs: 200 });
        const authz = createAuthzModule({
          db,
          secrets: new SecretsStore(db, parseMasterKeys(MASTER_KEY)),
          clock: systemClock,
          // The agent registry is identity's business; these nodes only need "the agent exists".
          agents: { get: async (_tenant, id) => ({ id, status: 'active' }) },
          onEventsCommitted: () => bus.wake(),
          log,
          nodeId,
        });
        for (const c of authz.consumers?.() ?? []) bus.subscribe(c);
        await bus.start();
        await authz.start!();
        const node = { bus, authz };
        nodes.push(node);
        return node;
      }

      beforeAll(async () => {
        url = await driver.createDatabase();
        await migrate(await database(), MIGRATION_SOURCES);
      });

      afterAll(async () => {
        for (const n of nodes) {
          await n.authz.stop!();
          await n.bus.stop();
        }
        await natsTransports[0]?.deleteStream().catch(() => {});
        for (const db of dbs) await db.close();
        await driver.dropDatabase(url);
      });

      const tenantId = randomUUID();
      const agentId = randomBytes(32).toString('hex');
      const agent: Principal = { kind: 'agent', id: agentId, tenantId, roles: ['agent'] };
      const operator: Principal = { kind: 'operator', id: 'operator', tenantId: null, roles: ['operator'] };
      let tokenId = '';
      let token = '';

      it('refuses on node B, within one second, a token revoked on node A', async () => {
        const a = await startNode('a');
        const b = await startNode('b');
        const minted = await a.authz.delegations.mint(operator, tenantId, {
          agent_id: agentId,
          actions: ['sandbox.*'],
          resources: ['repo:acme/**'],
        });
        token = minted.token;
        tokenId = minted.id;
        // B verifies it (cold: loads the tenant key), then holds it in its verified-token cache.
        for (let i = 0; i < 2; i++) {
          expect(await b.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', token)).toMatchObject({
            allowed: true,
            tokenId,
          });
        }
        expect(b.authz.verifier.cache.size).toBe(1);

        const t0 = performance.now();
        await a.authz.delegations.revoke(operator, tenantId, { token_id: tokenId });
        // The revoking node applies it at once.
        expect(await a.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', token)).toMatchObject({
          allowed: false,
          reason: 'token_revoked',
        });
        let answer = await b.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
        while (answer.allowed && performance.now() - t0 < 3_000) {
          await new Promise((r) => setTimeout(r, 5));
          answer = await b.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
        }
        const elapsed = performance.now() - t0;
        expect(answer).toMatchObject({ allowed: false, reason: 'token_revoked' });
        expect(elapsed).toBeLessThan(1_000);
        // Evicted by the push, not found stale.
        expect(b.authz.verifier.cache.size).toBe(0);
      });

      it('refuses the revoked token on a node started afterwards, from its first check', async () => {
        const c = await startNode('c');
        expect(await c.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', token)).toMatchObject({
          allowed: false,
          reason: 'token_revoked',
        });
      });

      it('leaves other tokens of the tenant working on every node', async () => {
        const other = await nodes[0]!.authz.delegations.mint(operator, tenantId, {
          agent_id: agentId,
          actions: ['sandbox.*'],
          resources: ['repo:acme/**'],
        });
        for (const n of nodes) {
          expect(await n.authz.authorize(agent, 'sandbox.exec', 'repo:acme/w', other.token)).toMatchObject({
            allowed: true,
          });
        }
      });
    });
  }
}
