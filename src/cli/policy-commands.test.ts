import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../test/support/warden.js';
import { diffRules } from './policy-commands.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the real CLI (from source) against the test node. */
function warden(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

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
