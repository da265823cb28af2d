import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../support/backends.js';
import { drivers } from '../support/drivers.js';
import { spawnTs } from '../support/process.js';

const FIXTURE = 'test/e2e/fixtures/outbox-worker.ts';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const natsUrl = backendUrl('nats');
const transports = [{ name: 'in-process', nats: false }, ...(natsUrl ? [{ name: 'nats', nats: true }] : [])];

for (const driver of drivers()) {
  for (const transport of transports) {
    describe(`crash safety of the outbox (${driver.name}, ${transport.name})`, () => {
      it('delivers every committed event after SIGKILL and restart, none twice to the same consumer', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'warden-crash-'));
        dirs.push(dataDir);
        const dbUrl = await driver.createDatabase();
        const id = Math.random().toString(36).slice(2, 10);
        const env = {
          DATA_DIR: join(dataDir, 'db'),
          DATABASE_URL: dbUrl,
          ...(transport.nats
            ? {
                NATS_URL: natsUrl,
                NATS_STREAM: `WARDEN_CRASH_${id.toUpperCase()}`,
                NATS_PREFIX: `crash_${id}.events`,
              }
            : {}),
        };
        try {
          const publisher = spawnTs(FIXTURE, ['publish'], env);
          await publisher.waitFor(/^committed 150$/, 45_000);
          publisher.child.kill('SIGKILL');
          const exit = await publisher.exited;
          expect(exit.signal).toBe('SIGKILL');
          const committed = publisher.lines
            .filter((l) => /^committed \d+$/.test(l))
            .map((l) => Number(l.split(' ')[1]));
          const lastCommitted = Math.max(...committed);

          const drainer = spawnTs(FIXTURE, ['drain'], env);
          await drainer.waitFor(/^drained$/, 45_000);
          const seenLine = drainer.lines.find((l) => l.startsWith('seen '))!;
          const seen = new Map<number, number>(JSON.parse(seenLine.slice(5)) as [number, number][]);
          // Every event whose commit was acknowledged is delivered…
          for (let n = 1; n <= lastCommitted; n++) expect(seen.get(n), `event ${n}`).toBe(1);
          // …and nothing is delivered twice (an event committed after the last line printed may also appear, once).
          for (const [n, count] of seen) expect(count, `event ${n}`).toBe(1);
          await drainer.exited;
        } finally {
          if (transport.nats) {
            const nc = await connect({ servers: new URL(natsUrl!).host });
            await (await nc.jetstreamManager()).streams
              .delete(`WARDEN_CRASH_${id.toUpperCase()}`)
              .catch(() => {});
            await nc.close();
          }
          await driver.dropDatabase(dbUrl);
        }
      }, 120_000);
    });
  }
}
