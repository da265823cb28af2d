import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../../../test/support/backends.js';
import { useDatabase } from '../../../test/support/db.js';
import { drivers } from '../../../test/support/drivers.js';
import { type Consumer, EventBus, publish, topicMatches } from './bus.js';
import { NatsTransport } from './nats-transport.js';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

describe('topicMatches', () => {
  it('matches exact topics and trailing-wildcard prefixes only', () => {
    expect(topicMatches(['identity.tenant.created'], 'identity.tenant.created')).toBe(true);
    expect(topicMatches(['identity.*'], 'identity.tenant.created')).toBe(true);
    expect(topicMatches(['identity.*'], 'identityx.tenant')).toBe(false);
    expect(topicMatches(['audit.*'], 'identity.tenant.created')).toBe(false);
  });
});

const transports: { name: string; make: () => NatsTransport | undefined }[] = [
  { name: 'in-process', make: () => undefined },
];
const natsUrl = backendUrl('nats');
if (natsUrl) {
  transports.push({
    name: 'nats',
    make: () => {
      const id = Math.random().toString(36).slice(2, 10);
      return new NatsTransport({
        url: natsUrl,
        stream: `WARDEN_T_${id.toUpperCase()}`,
        subjectPrefix: `test_${id}.events`,
        log,
      });
    },
  });
}

for (const driver of drivers()) {
  for (const transport of transports) {
    describe(`event bus (${driver.name}, ${transport.name})`, () => {
      const t = useDatabase(driver);
      let bus: EventBus;
      let nats: NatsTransport | undefined;
      const failuresLeft = new Map<string, number>();
      const suffix = Math.random().toString(36).slice(2, 8);
      const recorder: Consumer = {
        name: `test.recorder.${suffix}`,
        topics: ['test.thing.*'],
        async handle(event, trx) {
          const left = failuresLeft.get(String(event.payload.n)) ?? 0;
          if (left > 0) {
            failuresLeft.set(String(event.payload.n), left - 1);
            // Effects of a failed attempt must be rolled back with it.
            await sql`insert into scratch_bus.seen (consumer, event_id, n) values ('failed-attempt', ${event.id}, -1)`.execute(
              trx,
            );
            throw new Error(`planned failure for ${event.payload.n}`);
          }
          await sql`insert into scratch_bus.seen (consumer, event_id, n) values (${this.name}, ${event.id}, ${event.payload.n as number})`.execute(
            trx,
          );
        },
        maxAttempts: 3,
      };

      beforeAll(async () => {
        await sql`create schema if not exists scratch_bus`.execute(t.db.kysely);
        await sql`create table if not exists scratch_bus.seen (consumer text, event_id uuid, n int)`.execute(
          t.db.kysely,
        );
        nats = transport.make();
        bus = new EventBus({ db: t.db, log, transport: nats, pollMs: 20, retryBaseMs: 10, retryMaxMs: 40 });
        bus.subscribe(recorder);
        await bus.start();
      });
      afterAll(async () => {
        await nats?.deleteStream();
        await bus?.stop();
      });

      const seen = async (n: number) =>
        (
          await sql<{
            c: number;
          }>`select count(*)::int as c from scratch_bus.seen where consumer = ${recorder.name} and n = ${n}`.execute(
            t.db.kysely,
          )
        ).rows[0]!.c;

      it('delivers an event committed with its state change, exactly once in effect', async () => {
        await t.db.transaction((trx) => publish(trx, { topic: 'test.thing.created', payload: { n: 1 } }));
        bus.wake();
        await waitFor(async () => (await seen(1)) === 1);
        await bus.flush();
        await new Promise((r) => setTimeout(r, 200));
        expect(await seen(1)).toBe(1);
      });

      it('never delivers an event whose transaction rolled back', async () => {
        await expect(
          t.db.transaction(async (trx) => {
            await publish(trx, { topic: 'test.thing.created', payload: { n: 2 } });
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        await t.db.transaction((trx) => publish(trx, { topic: 'test.thing.created', payload: { n: 3 } }));
        bus.wake();
        await waitFor(async () => (await seen(3)) === 1);
        expect(await seen(2)).toBe(0);
      });

      it('ignores topics the consumer did not subscribe to', async () => {
        await t.db.transaction((trx) => publish(trx, { topic: 'other.thing.created', payload: { n: 4 } }));
        await t.db.transaction((trx) => publish(trx, { topic: 'test.thing.created', payload: { n: 5 } }));
        bus.wake();
        await waitFor(async () => (await seen(5)) === 1);
        expect(await seen(4)).toBe(0);
      });

      it('retries a failing handler with backoff, rolling back each failed attempt', async () => {
        failuresLeft.set('6', 2);
        await t.db.transaction((trx) => publish(trx, { topic: 'test.thing.created', payload: { n: 6 } }));
        bus.wake();
        await waitFor(async () => (await seen(6)) === 1);
        const failed = await sql<{
          c: number;
        }>`select count(*)::int as c from scratch_bus.seen where consumer = 'failed-attempt'`.execute(
          t.db.kysely,
        );
        expect(failed.rows[0]!.c).toBe(0);
      });

      it('dead-letters after maxAttempts, lists it, and replays it on request', async () => {
        failuresLeft.set('7', 5);
        const eventId = await t.db.transaction((trx) =>
          publish(trx, { topic: 'test.thing.created', payload: { n: 7 } }),
        );
        bus.wake();
        await waitFor(async () =>
          (await bus.listDead({ consumer: recorder.name })).some((d) => d.eventId === eventId),
        );
        const dead = (await bus.listDead()).find((d) => d.eventId === eventId)!;
        expect(dead).toMatchObject({ consumer: recorder.name, topic: 'test.thing.created', attempts: 3 });
        expect(dead.lastError).toMatch(/planned failure for 7/);
        expect(await seen(7)).toBe(0);
        failuresLeft.set('7', 0);
        expect(await bus.replayDead({ eventId })).toBe(1);
        await waitFor(async () => (await seen(7)) === 1);
        expect((await bus.listDead()).some((d) => d.eventId === eventId)).toBe(false);
      });

      it('refuses malformed topics and oversized payloads at publish time', async () => {
        await expect(
          t.db.transaction((trx) => publish(trx, { topic: 'NoDots', payload: {} })),
        ).rejects.toThrow(/module.name/);
        await expect(
          t.db.transaction((trx) =>
            publish(trx, { topic: 'test.big', payload: { x: 'y'.repeat(300 * 1024) } }),
          ),
        ).rejects.toThrow(/over/);
      });

      it('relays a burst of events without losing or duplicating any', async () => {
        const ids: number[] = [];
        for (let i = 100; i < 400; i++) ids.push(i);
        await t.db.transaction(async (trx) => {
          for (const n of ids) await publish(trx, { topic: 'test.thing.created', payload: { n } });
        });
        bus.wake();
        await waitFor(async () => {
          const r = await sql<{ c: number }>`select count(distinct n)::int as c from scratch_bus.seen
            where consumer = ${recorder.name} and n >= 100`.execute(t.db.kysely);
          return r.rows[0]!.c === ids.length;
        }, 30_000);
        const dup = await sql<{
          c: number;
        }>`select count(*)::int as c from scratch_bus.seen where consumer = ${recorder.name} and n >= 100`.execute(
          t.db.kysely,
        );
        expect(dup.rows[0]!.c).toBe(ids.length);
        expect(await bus.backlog()).toBe(0);
      });
    });
  }
}
