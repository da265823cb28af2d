/**
 * The decision path in process, on every driver: combining, shadow disagreements, decision records
 * in the (real) audit log, simulation from them, decision caching, head invalidation, and failing
 * closed.
 *
 * The delegation verifier here is a test double (`fakeDelegationVerifierForUnitTests`): the authz
 * module's in-process check is not exported yet. It only decides on the action named in the token.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../../../test/support/drivers.js';
import { MIGRATION_SOURCES } from '../../module-list.js';
import { ManualClock } from '../../platform/clock.js';
import { type Database, openDatabase } from '../../platform/db/database.js';
import { migrate } from '../../platform/db/migrate.js';
import type { Principal } from '../../platform/http/auth.js';
import { ProblemError } from '../../platform/http/problem.js';
import { parseMasterKeys, SecretsStore } from '../../platform/secrets.js';
import { type AuditAppend, type AuditModule, createAuditModule } from '../audit/index.js';
import { decisionMadeRecord } from './decisions.js';
import { type AgentFacts, createPolicyModule, type DelegationVerifier, type PolicyModule } from './index.js';
import { sandboxRules, sandboxTests } from './test/policy-fixtures.js';

/** Test double of the authz check: a token `actions=a,b` allows those actions, anything else is refused. */
const fakeDelegationVerifierForUnitTests: DelegationVerifier = async (check) => {
  const m = /^actions=(.+)$/.exec(check.token);
  if (!m)
    return { ok: false, reason: 'token_malformed', problemType: '/problems/delegation-token-malformed' };
  if (!m[1]!.split(',').includes(check.action))
    return {
      ok: false,
      reason: 'action_not_permitted',
      problemType: '/problems/delegation-action-not-permitted',
    };
  return { ok: true, holders: ['user:root', check.agentId] };
};

const AGENT = 'a'.repeat(64);
const MASTER_KEY = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
const UNTRUSTED = 'b'.repeat(64);

for (const driver of drivers()) {
  describe(`decisions in process (${driver.name})`, () => {
    let db: Database;
    let url: string | undefined;
    const clock = new ManualClock(Date.UTC(2026, 2, 2, 10, 0, 0));
    const agents = new Map<string, AgentFacts>([
      [AGENT, { id: AGENT, tier: 'premium', trust_level: 'trusted', metadata: { team: 'ml' } }],
      [UNTRUSTED, { id: UNTRUSTED, tier: 'basic', trust_level: 'untrusted', metadata: {} }],
    ]);
    let failAgents = false;
    let policy: PolicyModule;
    let audit: AuditModule;
    const tenantId = randomUUID();
    const admin: Principal = { kind: 'user', id: 'u1', tenantId, roles: ['admin'] };
    const agentCaller = (id = AGENT): Principal => ({ kind: 'agent', id, tenantId, roles: ['agent'] });

    beforeAll(async () => {
      url = await driver.createDatabase();
      db = await openDatabase({ url, dataDir: 'memory://' });
      await migrate(db, MIGRATION_SOURCES);
      audit = createAuditModule({
        db,
        clock,
        secrets: new SecretsStore(db, parseMasterKeys(MASTER_KEY)),
        log: pino({ level: 'silent' }),
      });
      await audit.start!();
      policy = createPolicyModule({
        db,
        clock,
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        verifyDelegation: fakeDelegationVerifierForUnitTests,
        agents: async (t, id) => {
          if (failAgents) throw new Error('identity is down');
          return t === tenantId ? agents.get(id) : undefined;
        },
        // Wired as server.ts wires them: records to the audit log, simulation reads them back.
        appendAudit: (record) => void audit.append(record),
        decisionHistory: async (t, last) =>
          (await audit.recent(t, { product: 'oversight', event_type: 'decision.made' }, last)).map((r) => ({
            at: r.timestamp,
            outcome: r.outcome ?? '',
            metadata: r.metadata,
          })),
      });
    });
    const records = async (eventType: string) =>
      (await audit.recent(tenantId, { product: 'oversight', event_type: eventType }, 10_000)).map(
        (r) => r.metadata as Record<string, unknown>,
      );
    afterAll(async () => {
      await policy?.decisions.stop();
      await audit?.stop?.();
      await db?.close();
      await driver.dropDatabase(url);
    });

    const ask = (action: string, context: Record<string, unknown> = {}, caller = agentCaller()) =>
      policy.evaluate({
        tenantId,
        caller,
        action,
        resource: { id: 'sandbox:new' },
        context,
        delegation: { token: `actions=${action}` },
      });

    async function activate(rules = sandboxRules, tests = sandboxTests) {
      const name = `p-${randomUUID()}`;
      const { policy: p } = await policy.policies.createPolicy(admin, tenantId, { name, rules, tests });
      await policy.policies.propose(admin, tenantId, p.id, 1, 'test');
      await policy.policies.enforce(admin, tenantId, p.id, 1, { reason: 'test' });
      return p.id;
    }

    it('denies everything while the tenant has no active policy', async () => {
      const d = await ask('sandbox.create');
      expect(d).toMatchObject({ decision: 'deny', rule_ids: [], policy: null });
      expect(d.reasons[0]).toMatch(/no active policy/);
    });

    it('answers allow, pending_approval and deny with reasons, rules, version and decision id', async () => {
      const policyId = await activate();
      const allow = await ask('sandbox.create', { estimated_cost: 5 });
      expect(allow).toMatchObject({
        decision: 'allow',
        rule_ids: ['sandboxes'],
        reasons: ['sandboxes are allowed'],
        policy: { policy_id: policyId, version: 1 },
        approval_id: null,
        approval: null,
      });
      expect(allow.decision_id).toMatch(/^[0-9a-f-]{36}$/);
      const pending = await ask('sandbox.create', { estimated_cost: 80 });
      expect(pending).toMatchObject({
        decision: 'pending_approval',
        rule_ids: ['costly-sandbox'],
        approval: { rule_id: 'costly-sandbox', spec: { sla_seconds: 3600 } },
        approval_id: null,
      });
      const denied = await ask('sandbox.exec', {}, agentCaller(UNTRUSTED));
      expect(denied).toMatchObject({ decision: 'deny', rule_ids: ['no-untrusted-exec'] });
      expect(denied.risk.factors.map((f) => f.name)).toEqual([
        'untrusted_agent',
        'delegation_depth',
        'destructive_action',
      ]);
      const defaultDeny = await ask('llm.call');
      expect(defaultDeny).toMatchObject({ decision: 'deny', rule_ids: [] });
    });

    it('sees the delegation chain as `principal` and the computed risk as `risk`', async () => {
      await activate(
        [
          {
            id: 'deep',
            when: 'principal.depth > 0 && principal.chain[0] == "user:root"',
            effect: 'deny',
            reason: 'delegated',
          },
          { id: 'all', when: 'true', effect: 'allow', reason: 'ok' },
        ],
        [],
      );
      expect((await ask('llm.call')).rule_ids).toEqual(['deep']);
      await activate(
        [
          { id: 'risky', when: 'risk.score >= 60', effect: 'deny', reason: 'too risky' },
          { id: 'all', when: 'true', effect: 'allow', reason: 'ok' },
        ],
        [],
      );
      expect((await ask('llm.call')).decision).toBe('allow');
      const risky = await ask('sandbox.create', { privileged: true, egress: 'external', estimated_cost: 80 });
      expect(risky).toMatchObject({ decision: 'deny', rule_ids: ['risky'] });
      expect(risky.risk.score).toBe(5 + 25 + 20 + 20);
    });

    it('fails closed on a rule that cannot be evaluated: a deny matches, an allow does not', async () => {
      await activate(
        [
          { id: 'bad-deny', actions: ['x.deny'], when: 'context.missing > 1.0', effect: 'deny', reason: 'd' },
          { id: 'bad-allow', when: 'context.missing > 1.0', effect: 'allow', reason: 'a' },
        ],
        [],
      );
      const denied = await ask('x.deny');
      expect(denied).toMatchObject({ decision: 'deny', rule_ids: ['bad-deny'] });
      expect(denied.errors.map((e) => e.rule_id)).toEqual(['bad-deny']);
      const notAllowed = await ask('x.other');
      expect(notAllowed).toMatchObject({ decision: 'deny', rule_ids: [] });
      expect(notAllowed.errors).toEqual([expect.objectContaining({ rule_id: 'bad-allow' })]);
    });

    it('refuses a request outside the token with the verifier’s problem type, and audits it', async () => {
      const err = await policy
        .evaluate({
          tenantId,
          caller: agentCaller(),
          action: 'sandbox.exec',
          resource: { id: 'sandbox:1' },
          delegation: { token: 'actions=llm.call' },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProblemError);
      expect(err).toMatchObject({ status: 403, type: '/problems/delegation-action-not-permitted' });
      await policy.flush();
      expect((await records('decision.refused')).map((m) => m.reason)).toContain('action_not_permitted');
    });

    it('refuses oversized context, a foreign agent and an unknown agent', async () => {
      const big = { blob: 'x'.repeat(20_000) };
      await expect(ask('llm.call', big)).rejects.toMatchObject({
        type: '/problems/decision-context-too-large',
      });
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 12; i++) deep = { d: deep };
      await expect(ask('llm.call', deep)).rejects.toMatchObject({
        type: '/problems/decision-context-too-large',
      });
      await expect(
        policy.evaluate({
          tenantId,
          caller: agentCaller(),
          agentId: UNTRUSTED,
          action: 'llm.call',
          resource: { id: 'r' },
          delegation: { token: 'actions=llm.call' },
        }),
      ).rejects.toMatchObject({ type: '/problems/decision-agent-mismatch' });
      await expect(ask('llm.call', {}, agentCaller('c'.repeat(64)))).rejects.toMatchObject({
        type: '/problems/decision-agent-unknown',
      });
    });

    it('fails closed with a deny when a dependency fails', async () => {
      failAgents = true;
      clock.advance(10_000); // past the agent cache
      try {
        const d = await ask('llm.call');
        expect(d).toMatchObject({ decision: 'deny', failure: { type: '/problems/decision-failed-closed' } });
      } finally {
        failAgents = false;
      }
    });

    it('audits each decision with the facts it was made on; simulation replays them from the audit log', async () => {
      const policyId = await activate();
      clock.advance(10_000);
      const made = [
        await ask('sandbox.create', { estimated_cost: 5 }),
        await ask('sandbox.create', { estimated_cost: 80 }),
        await ask('sandbox.exec', {}, agentCaller(UNTRUSTED)),
      ];
      await policy.flush();
      const byId = new Map((await records('decision.made')).map((m) => [m.decision_id, m]));
      expect(byId.get(made[0]!.decision_id)).toMatchObject({
        rule_ids: ['sandboxes'],
        cached: false,
        input: {
          agent: { id: AGENT, tier: 'premium', trust_level: 'trusted' },
          action: 'sandbox.create',
          resource: { id: 'sandbox:new' },
          context: { estimated_cost: 5 },
          principal: { chain: ['user:root', AGENT], depth: 1 },
        },
      });
      for (const d of made) expect(byId.has(d.decision_id)).toBe(true);

      // A candidate that requires approval for every sandbox.
      const v2 = await policy.policies.createVersion(admin, tenantId, policyId, {
        rules: [{ ...sandboxRules[1]!, when: 'true' }, sandboxRules[2]!],
      });
      const sim = await policy.policies.simulate(tenantId, policyId, {
        version: v2.version,
        last: 3,
        max_flips: 10,
      });
      expect(sim).toMatchObject({ replayed: 3, skipped: 0 });
      expect(sim.changes).toEqual({ 'allow->pending_approval': 1, 'deny->pending_approval': 1 });
      expect(sim.flips).toContainEqual(
        expect.objectContaining({
          decision_id: made[0]!.decision_id,
          from: expect.objectContaining({ decision: 'allow', rule_ids: ['sandboxes'] }),
          to: { decision: 'pending_approval', rule_ids: ['costly-sandbox'] },
          by_rule: 'costly-sandbox',
        }),
      );
    });

    it('records a shadow version’s disagreements with the active one', async () => {
      const policyId = await activate();
      const v2 = await policy.policies.createVersion(admin, tenantId, policyId, {
        rules: [
          {
            id: 'deny-all-sandboxes',
            actions: ['sandbox.*'],
            when: 'true',
            effect: 'deny',
            reason: 'freeze',
          },
        ],
      });
      await policy.policies.propose(admin, tenantId, policyId, v2.version, 'freeze candidate');
      await policy.policies.setShadow(admin, tenantId, policyId, v2.version, {
        enabled: true,
        reason: 'try it',
      });
      const live = await ask('sandbox.create', { estimated_cost: 5 });
      expect(live.decision).toBe('allow');
      await ask('llm.call'); // both deny: no disagreement
      const report = await policy.policies.shadowReport(tenantId, policyId, v2.version, { limit: 10 });
      expect(report).toMatchObject({ shadow: true, disagreements_total: 1 });
      expect(report.items[0]).toMatchObject({
        decision_id: live.decision_id,
        active: { decision: 'allow', rule_ids: ['sandboxes'] },
        shadow: { decision: 'deny', rule_ids: ['deny-all-sandboxes'] },
      });
      await policy.policies.setShadow(admin, tenantId, policyId, v2.version, {
        enabled: false,
        reason: 'done',
      });
      await ask('sandbox.create', { estimated_cost: 5 });
      expect(
        (await policy.policies.shadowReport(tenantId, policyId, v2.version, { limit: 10 }))
          .disagreements_total,
      ).toBe(1);
    });

    it('reuses a decision only where every rule of the action allows it, keyed on the facts they read', async () => {
      const cachedRules = [
        {
          id: 'no-untrusted',
          actions: ['model.call'],
          when: "agent.trust_level == 'untrusted'",
          effect: 'deny' as const,
          reason: 'untrusted agents may not call models',
          cache_ttl_seconds: 60,
        },
        {
          id: 'allowed-models',
          actions: ['model.call'],
          when: "context.model in ['small', 'medium']",
          effect: 'allow' as const,
          reason: 'model on the allowlist',
          cache_ttl_seconds: 30,
        },
        // Concerns sandbox.create but sets no cache time: those decisions are never reused.
        { id: 'sandboxes', actions: ['sandbox.*'], when: 'true', effect: 'allow' as const, reason: 'ok' },
        {
          id: 'costly',
          actions: ['sandbox.create'],
          when: 'context.estimated_cost > 50.0',
          effect: 'require_approval' as const,
          reason: 'costly',
          approval: sandboxRules[1]!.approval,
          cache_ttl_seconds: 60,
        },
      ];
      await activate(cachedRules, []);
      const first = await ask('model.call', { model: 'small', prompt: 'a' });
      expect(first).toMatchObject({ decision: 'allow', rule_ids: ['allowed-models'], cached: false });
      // `prompt` is read by no rule: the same verdict is reused, as a new decision.
      const second = await ask('model.call', { model: 'small', prompt: 'b' });
      expect(second).toMatchObject({ decision: 'allow', rule_ids: ['allowed-models'], cached: true });
      expect(second.decision_id).not.toBe(first.decision_id);
      // A fact the rules read differs: decided afresh.
      expect(await ask('model.call', { model: 'large' })).toMatchObject({ decision: 'deny', cached: false });
      expect(await ask('model.call', { model: 'large' })).toMatchObject({ decision: 'deny', cached: true });
      expect(await ask('model.call', { model: 'small' }, agentCaller(UNTRUSTED))).toMatchObject({
        decision: 'deny',
        rule_ids: ['no-untrusted'],
        cached: false,
      });
      // The shortest time of the action's rules (30 s) bounds the reuse.
      clock.advance(31_000);
      expect(await ask('model.call', { model: 'small' })).toMatchObject({ cached: false });
      // A rule of the action without a cache time, and pending approvals, are never reused.
      for (let i = 0; i < 2; i++) {
        expect(await ask('sandbox.create', { estimated_cost: 5 })).toMatchObject({ cached: false });
        expect(await ask('sandbox.create', { estimated_cost: 80 })).toMatchObject({
          decision: 'pending_approval',
          cached: false,
        });
      }
      // Every reused decision is audited as such.
      await policy.flush();
      const audited = (await records('decision.made')).find((m) => m.decision_id === second.decision_id);
      expect(audited).toMatchObject({ cached: true, rule_ids: ['allowed-models'] });
      // A new version changes the key: nothing of the old one is reused.
      await activate(cachedRules, []);
      expect(await ask('model.call', { model: 'small' })).toMatchObject({ cached: false });
    });

    it('refuses a cache time on a rule that reads `now` or `usage`', async () => {
      const { policy: p } = await policy.policies.createPolicy(admin, tenantId, {
        name: `uncacheable-${randomUUID()}`,
        rules: [
          {
            id: 'office-hours',
            when: 'now.getHours() >= 8',
            effect: 'allow',
            reason: 'office hours',
            cache_ttl_seconds: 60,
          },
        ],
      });
      const err = await policy.policies.propose(admin, tenantId, p.id, 1, 'try').catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 422, type: '/problems/policy-rule-invalid' });
      expect(JSON.stringify(err)).toMatch(/reads `now`/);
    });

    it('picks up a change made on another node within the poll interval', async () => {
      await activate();
      await policy.decisions.start();
      expect((await ask('sandbox.create', { estimated_cost: 5 })).decision).toBe('allow');
      // Another node: a second module over the same database enforces a deny-all version.
      const other = createPolicyModule({
        db,
        clock,
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        verifyDelegation: fakeDelegationVerifierForUnitTests,
        agents: async (_t, id) => agents.get(id),
      });
      const { policy: p } = await other.policies.createPolicy(admin, tenantId, {
        name: `other-${randomUUID()}`,
        rules: [{ id: 'freeze', when: 'true', effect: 'deny', reason: 'frozen' }],
      });
      await other.policies.propose(admin, tenantId, p.id, 1, 'x');
      await other.policies.enforce(admin, tenantId, p.id, 1, { reason: 'x' });
      await new Promise((r) => setTimeout(r, 1500));
      expect((await ask('sandbox.create', { estimated_cost: 5 })).rule_ids).toEqual(['freeze']);
    });

    it('answers in-process callers that verified the token themselves', async () => {
      const d = await policy.evaluate({
        tenantId,
        caller: { kind: 'api_key', id: 'k', tenantId, roles: ['developer'] },
        agentId: AGENT,
        action: 'llm.call',
        resource: { id: 'model:gpt' },
        delegation: { verifiedBy: 'runtime' },
      });
      expect(d.decision).toBe('deny');
      expect(d.rule_ids).toEqual(['freeze']);
    });
  });
}

describe('a node without a delegation verifier', () => {
  it('fails every token-carrying decision closed', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await migrate(db, MIGRATION_SOURCES);
      const tenantId = randomUUID();
      const m = createPolicyModule({
        db,
        clock: new ManualClock(),
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        agents: async () => ({ id: AGENT, tier: 'basic', trust_level: 'trusted', metadata: {} }),
      });
      const d = await m.evaluate({
        tenantId,
        caller: { kind: 'agent', id: AGENT, tenantId, roles: ['agent'] },
        action: 'llm.call',
        resource: { id: 'r' },
        delegation: { token: 'anything' },
      });
      expect(d).toMatchObject({ decision: 'deny', failure: { type: '/problems/decision-failed-closed' } });
    } finally {
      await db.close();
    }
  });
});

describe('simulation without the audit log', () => {
  it('answers 503 policy-simulation-unavailable on a node that cannot read past decisions', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await migrate(db, MIGRATION_SOURCES);
      const tenantId = randomUUID();
      const admin: Principal = { kind: 'user', id: 'u1', tenantId, roles: ['admin'] };
      const m = createPolicyModule({
        db,
        clock: new ManualClock(),
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        agents: async () => undefined,
      });
      const { policy: p } = await m.policies.createPolicy(admin, tenantId, {
        name: 'no-history',
        rules: sandboxRules,
      });
      await expect(
        m.policies.simulate(tenantId, p.id, { version: 1, last: 10, max_flips: 10 }),
      ).rejects.toMatchObject({ status: 503, type: '/problems/policy-simulation-unavailable' });
    } finally {
      await db.close();
    }
  });

  it('skips records it cannot replay (expired payloads, records without facts)', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await migrate(db, MIGRATION_SOURCES);
      const tenantId = randomUUID();
      const admin: Principal = { kind: 'user', id: 'u1', tenantId, roles: ['admin'] };
      const input = {
        agent: { id: AGENT, tier: 'basic', trust_level: 'trusted' },
        action: 'sandbox.create',
        context: { estimated_cost: 80 },
      };
      const m = createPolicyModule({
        db,
        clock: new ManualClock(),
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        agents: async () => undefined,
        decisionHistory: async () => [
          {
            at: '2026-03-02T10:00:00.000Z',
            outcome: 'allow',
            metadata: { decision_id: randomUUID(), rule_ids: ['sandboxes'], input },
          },
          { at: '2026-03-02T09:00:00.000Z', outcome: 'allow', metadata: null },
          { at: '2026-03-02T08:00:00.000Z', outcome: 'deny', metadata: { decision_id: randomUUID() } },
        ],
      });
      const { policy: p } = await m.policies.createPolicy(admin, tenantId, {
        name: 'replay',
        rules: sandboxRules,
      });
      const sim = await m.policies.simulate(tenantId, p.id, { version: 1, last: 10, max_flips: 10 });
      expect(sim).toMatchObject({
        replayed: 1,
        skipped: 2,
        flipped: 1,
        changes: { 'allow->pending_approval': 1 },
      });
    } finally {
      await db.close();
    }
  });
});

describe('decision records through an in-process audit appender', () => {
  it('hands each record to the appender after its decision commits, and to the outbox when it refuses', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await migrate(db, MIGRATION_SOURCES);
      const tenantId = randomUUID();
      const admin: Principal = { kind: 'user', id: 'u1', tenantId, roles: ['admin'] };
      const appended: AuditAppend[] = [];
      let refuse = false;
      const m = createPolicyModule({
        db,
        clock: new ManualClock(),
        log: pino({ level: 'silent' }),
        onEventsCommitted: () => {},
        verifyDelegation: fakeDelegationVerifierForUnitTests,
        agents: async () => ({ id: AGENT, tier: 'basic', trust_level: 'trusted', metadata: {} }),
        appendAudit: (record) => {
          if (refuse) throw new Error('audit buffer full');
          appended.push(record);
        },
      });
      const { policy: p } = await m.policies.createPolicy(admin, tenantId, {
        name: 'appender',
        rules: sandboxRules,
        tests: sandboxTests,
      });
      await m.policies.propose(admin, tenantId, p.id, 1, 'test');
      await m.policies.enforce(admin, tenantId, p.id, 1, { reason: 'test' });
      const ask = () =>
        m.evaluate({
          tenantId,
          caller: { kind: 'agent', id: AGENT, tenantId, roles: ['agent'] },
          action: 'sandbox.create',
          resource: { id: 'sandbox:new' },
          context: { estimated_cost: 5 },
          delegation: { token: 'actions=sandbox.create' },
        });
      const outboxDecisions = async () =>
        (
          await db.kysely
            .selectFrom('platform.outbox')
            .select('payload')
            .where('tenant_id', '=', tenantId)
            .where(sql<boolean>`payload->>'event_type' = 'decision.made'`)
            .execute()
        ).map((r) => (r.payload as { metadata: { decision_id: string } }).metadata.decision_id);

      const first = await ask();
      await m.flush();
      expect(appended.filter((r) => r.event_type === 'decision.made')).toEqual([
        expect.objectContaining({
          tenant_id: tenantId,
          product: 'oversight',
          outcome: 'allow',
          metadata: expect.objectContaining({ decision_id: first.decision_id }),
        }),
      ]);
      expect(await outboxDecisions()).toEqual([]);

      refuse = true;
      const second = await ask();
      await m.flush();
      expect(await outboxDecisions()).toEqual([second.decision_id]);
      await m.decisions.stop();
    } finally {
      await db.close();
    }
  });
});

describe('decisionMadeRecord', () => {
  const base = {
    tenantId: randomUUID(),
    actor: 'agent:x',
    input: {
      agent: { id: AGENT, tier: 'standard', trust_level: 'trusted', metadata: {} },
      action: 'sandbox.create',
      resource: { id: 'sandbox:one' },
      context: { estimated_cost: 5 },
      risk: { score: 12, factors: [] },
    },
    decisionId: randomUUID(),
    agentId: AGENT,
    verdict: { decision: 'allow' as const, ruleIds: ['r1'], reasons: ['fine'], errors: [] },
    riskScore: 12,
    policy: { policy_id: randomUUID(), version_id: randomUUID(), version: 3 },
    approvalId: null,
    cached: false,
  };

  it('states the verdict, its source and the facts it was made on', () => {
    const r = decisionMadeRecord(base);
    expect(r).toMatchObject({
      tenantId: base.tenantId,
      eventType: 'decision.made',
      actor: 'agent:x',
      resourceId: 'sandbox:one',
      action: 'sandbox.create',
      outcome: 'allow',
    });
    expect(r.metadata).toEqual({
      decision_id: base.decisionId,
      agent_id: AGENT,
      policy: base.policy,
      rule_ids: ['r1'],
      reasons: ['fine'],
      errors: [],
      risk_score: 12,
      approval_id: null,
      cached: false,
      input: base.input,
    });
  });

  it('names who vouched for the agent only when no delegation token was presented', () => {
    expect(decisionMadeRecord({ ...base, verifiedBy: 'api_key:ci' }).metadata.delegation_verified_by).toBe(
      'api_key:ci',
    );
    expect('delegation_verified_by' in decisionMadeRecord(base).metadata).toBe(false);
  });
});
