import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers } from '../../test/support/drivers.js';
import { listeningUrl, runWarden, spawnWarden } from '../../test/support/process.js';
import { ADMIN_TOKEN, MASTER_KEY } from '../../test/support/warden.js';

const warden = runWarden;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-audit-cli-'));
  dirs.push(d);
  return d;
}

async function call(url: string, method: string, path: string, body?: unknown, tenant?: string) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(tenant ? { 'x-warden-tenant': tenant } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

for (const driver of drivers()) {
  describe(`warden audit export / verify (${driver.name})`, () => {
    let dbUrl: string | undefined;
    afterAll(async () => {
      await driver.dropDatabase(dbUrl);
    });

    it('exports from a running node, then verifies the file offline with the node stopped; a tampered file names the bad record', async () => {
      dbUrl = await driver.createDatabase();
      const dir = tempDir();
      const node = spawnWarden(['serve'], {
        WARDEN_DATA_DIR: join(dir, 'node'),
        WARDEN_PORT: '0',
        WARDEN_LOG_LEVEL: 'info',
        WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
        WARDEN_MASTER_KEY: MASTER_KEY,
        // Two shared cores: a start-up pause must not shed this test's few requests.
        WARDEN_MAX_EVENT_LOOP_DELAY_MS: '0',
        WARDEN_RATE_LIMIT_PER_SECOND: '0',
        ...(dbUrl ? { WARDEN_DATABASE_URL: dbUrl } : {}),
      });
      let stopped = false;
      try {
        const url = await listeningUrl(node, 30_000);
        const tenant = await call(url, 'POST', '/v1/tenants', { name: 'Audit CLI Co' });
        expect(tenant.status, JSON.stringify(tenant.json)).toBe(201);
        const tenantId = tenant.json.id as string;
        const appended: { record_id: string; leaf_index: number }[] = [];
        for (let i = 0; i < 12; i++) {
          const res = await call(
            url,
            'POST',
            '/v1/audit/log',
            {
              product: 'runtime',
              event_type: 'sandbox.created',
              actor: `agent:a${i}`,
              action: 'create',
              outcome: 'success',
              metadata: { i },
            },
            tenantId,
          );
          expect(res.status).toBe(201);
          appended.push(res.json as { record_id: string; leaf_index: number });
          if (i % 4 === 3) await call(url, 'GET', '/v1/audit/sth', undefined, tenantId); // several heads
        }
        const key = await call(url, 'GET', '/v1/audit/key', undefined, tenantId);
        const keyFile = join(dir, 'audit-key.pem');
        writeFileSync(keyFile, key.json.public_key_pem as string);

        // The credential and tenant every call to the running node carries.
        const remote = ['--token', ADMIN_TOKEN, '--tenant', tenantId];
        const exportTo = (out: string, ...more: string[]) =>
          warden(['audit', 'export', '--url', url, ...remote, ...more, '--out', out, '--json']);

        // Straight from the server URL (the export is fetched, the checks run here).
        const live = await warden(['audit', 'verify', url, ...remote, '--key', keyFile]);
        expect(live.code, live.stderr).toBe(0);
        expect(live.stdout).toMatch(/^ok: log .* every root recomputed from the leaves/);

        const file = join(dir, 'evidence.json');
        const exported = await exportTo(
          file,
          '--from',
          '2000-01-01T00:00:00Z',
          '--to',
          '2100-01-01T00:00:00Z',
        );
        expect(exported.code, exported.stderr).toBe(0);
        const summary = JSON.parse(exported.stdout);
        expect(summary).toMatchObject({ file, tenant_id: tenantId, tree_size: summary.records });
        expect(summary.records).toBeGreaterThanOrEqual(12);
        expect(summary.tree_heads).toBeGreaterThanOrEqual(3);

        // A range longer than one request: written as an evidence stream of parts.
        const streamFile = join(dir, 'evidence.jsonl');
        const streamed = await exportTo(streamFile, '--part-size', '5');
        expect(streamed.code, streamed.stderr).toBe(0);
        const streamSummary = JSON.parse(streamed.stdout);
        expect(streamSummary.parts).toBe(Math.ceil(streamSummary.records / 5));
        expect(streamSummary.parts).toBeGreaterThanOrEqual(3);
        // And the server verified page by page, without a file.
        const livePaged = await warden([
          'audit',
          'verify',
          url,
          ...remote,
          '--key',
          keyFile,
          '--part-size',
          '4',
        ]);
        expect(livePaged.code, livePaged.stderr).toBe(0);
        expect(livePaged.stdout).toMatch(
          /^ok: log .* records in \d+ parts, .* every root recomputed from the leaves/,
        );
        const badPartSize = await warden(['audit', 'export', '--url', url, '--part-size', '0']);
        expect(badPartSize.code).toBe(2);
        expect(badPartSize.stderr).toMatch(/--part-size must be an integer from 1 to 100000/);

        node.child.kill('SIGTERM');
        expect((await node.exited).code).toBe(0);
        stopped = true;

        // The stream verifies offline, bound into one tree.
        const streamOk = await warden(['audit', 'verify', streamFile, '--key', keyFile, '--json']);
        expect(streamOk.code, streamOk.stderr).toBe(0);
        expect(JSON.parse(streamOk.stdout)).toMatchObject({
          ok: true,
          tree_size: streamSummary.tree_size,
          checked: { records: streamSummary.records, parts: streamSummary.parts, full_root_recomputed: true },
        });
        // The same from standard input, and a single package from standard input.
        const piped = await warden(
          ['audit', 'verify', '-', '--key', keyFile, '--json'],
          readFileSync(streamFile, 'utf8'),
        );
        expect(piped.code, piped.stderr).toBe(0);
        expect(JSON.parse(piped.stdout).checked).toMatchObject({
          records: streamSummary.records,
          parts: streamSummary.parts,
        });
        const pipedOne = await warden(
          ['audit', 'verify', '-', '--key', keyFile, '--json'],
          readFileSync(file, 'utf8'),
        );
        expect(pipedOne.code, pipedOne.stderr).toBe(0);
        expect(JSON.parse(pipedOne.stdout)).toMatchObject({
          ok: true,
          checked: { records: summary.records },
        });
        const lines = readFileSync(streamFile, 'utf8').trimEnd().split('\n');
        expect(lines).toHaveLength(streamSummary.parts + 2);
        const verifyLines = async (edited: string[]) => {
          const f = join(dir, 'edited.jsonl');
          writeFileSync(f, `${edited.join('\n')}\n`);
          const r = await warden(['audit', 'verify', f, '--key', keyFile, '--json']);
          expect(r.code).toBe(1);
          return JSON.parse(r.stdout).failure;
        };
        // A part removed; the end line removed (a cut-short file); a record changed inside part 2.
        expect(await verifyLines(lines.filter((_, i) => i !== 2))).toMatchObject({
          reason: 'record_missing',
          leaf_index: 5,
        });
        expect((await verifyLines(lines.slice(0, -1))).detail).toMatch(/cut short/);
        const part2 = JSON.parse(lines[2]!);
        const rec = part2.records[1];
        rec.canonical = Buffer.from(
          Buffer.from(rec.canonical, 'base64').toString('utf8').replace('"tenant_id"', '"tenant_id "'),
        ).toString('base64');
        const altered = [...lines];
        altered[2] = JSON.stringify(part2);
        expect(await verifyLines(altered)).toMatchObject({ reason: 'payload_altered', leaf_index: 6 });
        expect(await verifyLines([...lines.slice(0, 2), 'not json', ...lines.slice(2)])).toMatchObject({
          reason: 'malformed_package',
          detail: expect.stringMatching(/line 3 is not JSON/),
        });

        // No server from here on.
        const ok = await warden(['audit', 'verify', file, '--key', keyFile, '--json']);
        expect(ok.code, ok.stderr).toBe(0);
        const report = JSON.parse(ok.stdout);
        expect(report).toMatchObject({
          ok: true,
          tenant_id: tenantId,
          tree_size: summary.tree_size,
          checked: { records: summary.records, full_root_recomputed: true },
          warnings: [],
        });
        expect(report.checked.consistency_proofs).toBe(report.checked.tree_heads - 1);

        // Without a pinned key the package's own key is used, and the CLI says so.
        const unpinned = await warden(['audit', 'verify', file]);
        expect(unpinned.code).toBe(0);
        expect(unpinned.stderr).toMatch(/warning: no --key given/);

        // Change one record's bytes in the file: the CLI names that record and why.
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        const victim = pkg.records.find((r: { record_id: string }) => r.record_id === appended[7]!.record_id);
        const bytes = Buffer.from(victim.canonical, 'base64').toString('utf8').replace('"i":7', '"i":70');
        victim.canonical = Buffer.from(bytes).toString('base64');
        const tampered = join(dir, 'tampered.json');
        writeFileSync(tampered, JSON.stringify(pkg));
        const bad = await warden(['audit', 'verify', tampered, '--key', keyFile]);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toContain(
          `TAMPERED: record at leaf ${appended[7]!.leaf_index} (${appended[7]!.record_id}): payload_altered`,
        );

        // Dropping a record from the file is named too.
        const dropped = JSON.parse(readFileSync(file, 'utf8'));
        dropped.records.splice(4, 1);
        writeFileSync(tampered, JSON.stringify(dropped));
        const missing = await warden(['audit', 'verify', tampered, '--key', keyFile, '--json']);
        expect(missing.code).toBe(1);
        expect(JSON.parse(missing.stdout).failure).toMatchObject({ reason: 'record_missing', leaf_index: 4 });
      } finally {
        if (!stopped) node.child.kill('SIGTERM');
      }
    }, 180_000);
  });
}

describe('warden audit verify: usage and reachability', () => {
  it('exits 2 for a missing file or a bad key, 1 for a key that did not sign, 3 for an unreachable server', async () => {
    const dir = tempDir();
    const missing = await warden(['audit', 'verify', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);

    const directory = await warden(['audit', 'verify', dir]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/cannot read/);

    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'hello');
    const garbage = await warden(['audit', 'verify', notJson]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/not an evidence package/);

    const notPackage = join(dir, 'empty.json');
    writeFileSync(notPackage, '{}');
    const empty = await warden(['audit', 'verify', notPackage, '--json']);
    expect(empty.code).toBe(1);
    expect(JSON.parse(empty.stdout).failure.reason).toBe('malformed_package');

    const badKey = await warden(['audit', 'verify', notPackage, '--key', 'not-a-key']);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/--key is not an Ed25519 public key/);

    const unreachable = await warden(['audit', 'verify', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach Warden/);

    const help = await warden(['audit', 'verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--key <pubkey>/);
    const noArg = await warden(['audit', 'verify']);
    expect(noArg.code).toBe(2);
  }, 120_000);

  it('refuses a package signed by another key than the pinned one', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const dir = tempDir();
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ours = generateKeyPairSync('ed25519')
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    const pkg = {
      format: 'warden.audit.evidence/v1',
      manifest: { tenant_id: 't', from_index: 0, to_index: 0 },
      public_key: { algorithm: 'Ed25519', key_id: 'x', spki_der: ours },
      tree_heads: [],
      consistency: [],
      records: [],
    };
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(pkg));
    const res = await warden(['audit', 'verify', file, '--key', other, '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).failure.reason).toBe('key_mismatch');
  }, 60_000);
});
