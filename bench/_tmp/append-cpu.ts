import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { MIGRATION_SOURCES } from '../../src/module-list.js';
import { createAuditModule } from '../../src/modules/audit/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { openDatabase } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { parseMasterKeys, SecretsStore } from '../../src/platform/secrets.js';
import { newId } from '../../src/platform/ids.js';
const admin = 'postgres://postgres@127.0.0.1:5432/test';
const name = `warden_tmp_${randomBytes(4).toString('hex')}`;
const q = async (s: string) => { const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(s); await c.end(); };
await q(`create database ${name}`);
const u = new URL(admin); u.pathname = `/${name}`;
const db = await openDatabase({ url: u.toString() });
await migrate(db, MIGRATION_SOURCES);
const audit = createAuditModule({ db, clock: systemClock, secrets: new SecretsStore(db, parseMasterKeys(`k1:${randomBytes(32).toString('base64')}`)), log: pino({ level: 'warn' }) });
await audit.start!();
const tenant = randomUUID(); const agent = 'agt_' + randomBytes(16).toString('hex');
function rec() {
  const now = new Date().toISOString();
  const input = { agent: { id: agent, tier: 'standard', trust_level: 'untrusted', metadata: {} }, principal: { chain: [agent], depth: 0, caller: 'api_key:0193' }, action: 'sandbox.create', resource: { id: 'sandbox:bench' }, context: { estimated_cost: 5 }, usage: {}, now,
    risk: { score: 35, factors: [{ name: 'untrusted_agent', weight: 25, detail: 'the agent is untrusted' }, { name: 'cost', weight: 10, detail: 'estimated cost 5' }] } };
  return { tenant_id: tenant, product: 'oversight', event_type: 'decision.made', actor: 'api_key:0193a', resource_id: 'sandbox:bench', action: 'sandbox.create', outcome: 'pending_approval',
    metadata: { decision_id: newId(), agent_id: agent, policy: { policy_id: tenant, version_id: tenant, version: 1 }, rule_ids: ['untrusted-sandbox-approval'], reasons: ['an untrusted agent needs approval to create a sandbox'], errors: [], risk_score: 35, approval_id: null, cached: false, input } } as any;
}
const N = Number(process.argv[2] ?? 30000);
for (let i = 0; i < 5000; i++) { try { audit.append(rec()); } catch { await audit.flush(); } if (i % 200 === 0) await new Promise((r) => setImmediate(r)); }
await audit.flush();
const c0 = process.cpuUsage(); const t0 = performance.now();
for (let i = 0; i < N; i++) { try { audit.append(rec()); } catch { await audit.flush(); } if (i % 200 === 0) await new Promise((r) => setImmediate(r)); }
await audit.flush();
const c = process.cpuUsage(c0); const wall = performance.now() - t0;
console.log(`${N} decision records: ${((c.user + c.system) / N).toFixed(1)} µs CPU/record (all threads), ${(N / wall * 1000).toFixed(0)}/s`);
await audit.stop?.(); await db.close(); await q(`drop database ${name} with (force)`);
