import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../test/support/identity-fixtures.js';
import { runWarden } from '../../test/support/process.js';
import { drivers, useWarden } from '../../test/support/warden.js';
import { agentWithToken } from '../modules/policy/test/policy-fixtures.js';
import { diffRules, parseParams } from './policy-commands.js';

const warden = runWarden;

describe('diffRules', () => {
  it('names added, removed and changed rules with the changed fields', () => {
    expect(
      diffRules(
        [{ id: 'a', when: 'true', effect: 'allow' }, { id: 'gone' }],
        [{ id: 'a', when: 'false', effect: 'allow' }, { id: 'new' }],
      ),
    ).toEqual({ added: ['new'], removed: ['gone'], changed: [{ id: 'a', fields: ['when'] }] });
  });
});

describe('parseParams', () => {
  it('parses JSON values, keeps other text, and refuses malformed pairs', () => {
    expect(parseParams(['max_cost=20', 'hosts=["a.com"]', 'zone=Europe/Paris', 'on=true'])).toEqual({
      max_cost: 20,
      hosts: ['a.com'],
      zone: 'Europe/Paris',
      on: true,
    });
    expect(() => parseParams(['novalue'])).toThrow(/name=value/);
    expect(() => parseParams(['a=1', 'a=2'])).toThrow(/twice/);
  });
});

describe('warden policy: install a template, simulate, shadow, enforce, roll back', () => {
  const t = useWarden(drivers()[0]!);

  it('walks the whole lifecycle through the CLI', async () => {
    const a = await onboardTenant(t, 'cli-policy-flow');
    const as = ['--url', t.node.url, '--token', a.key];
    const list = async () => {
      const r = await warden(['policy', 'list', ...as, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { id: string; name: string; active_version: number | null }[];
    };
    // Onboarding installed the default policy set as the active version (delivered by the bus).
    const policies = async () =>
      (await t.node.app.inject({ method: 'GET', url: '/v1/oversight/policies', headers: a.auth })).json()
        .items as { id: string; name: string; active_version: number | null }[];
    await expect
      .poll(async () => (await policies()).map((p) => [p.name, p.active_version]), { timeout: 10_000 })
      .toEqual([['default', 1]]);
    const defaultId = (await policies())[0]!.id;

    // 1,000 decisions through the API (an API key asking for a new, untrusted agent): under the
    // default policy costs of 5, 20 and 60 are allowed and 120 waits for an approval.
    const { agentId, token } = await agentWithToken(t, a.key, a.auth);
    const key = await createKey(t, a.auth, { name: 'gateway', role: 'developer' });
    const evaluate = async (cost: number) => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/oversight/evaluate',
        headers: key.auth,
        payload: {
          agent_id: agentId,
          action: 'sandbox.create',
          resource: { id: `sandbox:s${cost}` },
          context: { estimated_cost: cost },
          delegation_token: token,
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { decision: string; policy: { policy_id: string } | null };
    };
    await expect.poll(async () => (await evaluate(5)).policy?.policy_id, { timeout: 5_000 }).toBe(defaultId);
    const costs = [5, 20, 60, 120];
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, j) => evaluate(costs[(i + j) % 4]!)));

    const catalogue = await warden(['policy', 'templates', 'list', ...as]);
    expect(catalogue.code, catalogue.stderr).toBe(0);
    expect(catalogue.stdout).toMatch(/^high-cost-sandbox-approval\s+builtin\s+1\s+max_cost,max_risk\s/m);

    const installed = await warden([
      'policy',
      'install',
      'high-cost-sandbox-approval',
      '--name',
      'sandbox guard',
      '--param',
      'max_cost=50',
      ...as,
      '--json',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    const guard = JSON.parse(installed.stdout);
    expect(guard).toMatchObject({
      policy: { name: 'sandbox guard' },
      version: { version: 1, state: 'draft', source: { template: 'high-cost-sandbox-approval' } },
    });
    expect(guard.version.rules[0].when).toContain('context.estimated_cost > 50.0');
    const id = guard.policy.id as string;

    const proposed = await warden(['policy', 'propose', id, '1', '--reason', 'review the guard', ...as]);
    expect(proposed.code, proposed.stderr).toBe(0);
    expect(proposed.stdout).toMatch(/^1\s+proposed\s+no\s+2\s+4\s/m);

    // The new agent is untrusted: under the guard every sandbox it creates needs an approval,
    // so the 750 allowed decisions (the last 1,000 hold one more, the poll above) would flip.
    const sim = await warden(['policy', 'simulate', id, '1', '--last', '1000', ...as, '--json']);
    expect(sim.code, sim.stderr).toBe(0);
    const report = JSON.parse(sim.stdout);
    expect(report.replayed).toBe(1000);
    expect(report.changes).toEqual({ 'allow->pending_approval': report.flipped });
    expect(report.flipped).toBeGreaterThanOrEqual(749);
    expect(report.flipped).toBeLessThanOrEqual(751);
    expect(report.flips[0]).toMatchObject({
      from: { decision: 'allow' },
      to: { decision: 'pending_approval' },
      by_rule: 'high-risk-sandbox',
    });

    const shadow = await warden(['policy', 'shadow', id, '1', '--reason', 'watch it on live traffic', ...as]);
    expect(shadow.code, shadow.stderr).toBe(0);
    expect(shadow.stdout).toMatch(/^1\s+proposed\s+yes\s/m);
    for (const cost of [5, 120, 5, 60]) await evaluate(cost);
    const disagreements = await warden(['policy', 'shadow-report', id, '1', ...as]);
    expect(disagreements.code, disagreements.stderr).toBe(0);
    expect(disagreements.stdout).toContain('3 disagreement(s); running in shadow');
    expect(
      disagreements.stdout.match(/sandbox\.create\s+allow\s+pending_approval\s+high-risk-sandbox/g),
    ).toHaveLength(3);

    const enforced = await warden(['policy', 'enforce', id, '1', '--reason', 'guard approved', ...as]);
    expect(enforced.code, enforced.stderr).toBe(0);
    expect(enforced.stdout).toMatch(/^1\s+active\s+no\s/m);
    expect((await list()).map((p) => [p.name, p.active_version]).sort()).toEqual([
      ['default', null],
      ['sandbox guard', 1],
    ]);
    expect((await evaluate(5)).decision).toBe('pending_approval');

    // Roll back: the default policy's version 1 (superseded by the guard) is active again.
    const rolled = await warden(['policy', 'rollback', defaultId, '--reason', 'too strict', ...as]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toMatch(/^1\s+active\s+no\s+5\s+7\s/m);
    const shown = await warden(['policy', 'get', id, ...as]);
    expect(shown.stdout).toMatch(/^sandbox guard \(.+\): latest version 1, active none$/m);
    expect(shown.stdout).toMatch(/^1\s+superseded\s+no\s/m);
    expect((await evaluate(5)).decision).toBe('allow');

    // Refusals: the server says no (1), bad usage (2), nobody listening (3).
    const again = await warden(['policy', 'enforce', id, '1', '--reason', 'again', ...as]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('only a proposed version can be enforced');
    expect((await warden(['policy', 'enforce', id, '1', ...as])).code).toBe(2);
    expect((await warden(['policy', 'list', '--url', 'http://127.0.0.1:9', '--token', a.key])).code).toBe(3);
    // Fourteen CLI processes compiled from source by tsx: slow on a busy machine.
  }, 300_000);
});

describe('warden policy test / simulate / diff', () => {
  const t = useWarden(drivers()[0]!);

  it('tests, simulates and diffs versions through the API', async () => {
    const a = await onboardTenant(t, 'cli-policy');
    const as = ['--url', t.node.url, '--token', a.key];
    const rules = [{ id: 'all', when: 'true', effect: 'allow', reason: 'ok' }];
    const created = await t.node.app.inject({
      method: 'POST',
      url: '/v1/oversight/policies',
      headers: a.auth,
      payload: {
        name: 'cli',
        rules,
        tests: [
          {
            name: 'allowed',
            input: { agent: { id: 'x' }, action: 'llm.call' },
            expect: { decision: 'allow', rule: 'all' },
          },
          {
            name: 'wrongly expects deny',
            input: { agent: { id: 'x' }, action: 'llm.call' },
            expect: { decision: 'deny' },
          },
        ],
      },
    });
    const id = created.json().policy.id as string;
    await t.node.app.inject({
      method: 'POST',
      url: `/v1/oversight/policies/${id}/versions`,
      headers: a.auth,
      payload: {
        rules: [
          { ...rules[0], when: "action == 'llm.call'" },
          { id: 'extra', when: 'false', effect: 'deny', reason: 'x' },
        ],
      },
    });

    const test = await warden(['policy', 'test', id, '1', ...as]);
    expect(test.code).toBe(1);
    expect(test.stdout).toMatch(/FAIL\s+wrongly expects deny\s+deny\s+allow \(all\)\n/);
    expect(test.stdout).toContain('1 passed, 1 failed');

    const diff = await warden(['policy', 'diff', id, '1', '2', ...as]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toBe('+ extra\n~ all (when)\n');

    const sim = await warden(['policy', 'simulate', id, '2', '--last', '50', ...as, '--json']);
    expect(sim.code).toBe(0);
    expect(JSON.parse(sim.stdout)).toMatchObject({ replayed: 0, flipped: 0, candidate: { version: 2 } });

    const bad = await warden(['policy', 'test', id, 'two', ...as]);
    expect(bad.code).toBe(2);
    // Five CLI processes compiled from source by tsx: slow on a busy machine.
  }, 180_000);
});
