/**
 * Per-node consumers (`Consumer.perNode`): they hear events only while their node runs and are
 * forgotten when it is gone — at once on a clean stop, after the TTL when the node crashed — with
 * their deliveries, while durable consumers keep theirs. Several nodes here are several buses on
 * one database (PGlite, and PostgreSQL when WARDEN_TEST_DATABASE_URL is set); a crash is
 * `abandon()`: loops stopped, nothing unregistered. With NATS (WARDEN_TEST_NATS_URL) the JetStream
 * side is checked with the JetStream manager API.
 */
import { sql } from 'kysely';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../../../test/support/backends.js';
import { type TestDb, useDatabase } from '../../../test/support/db.js';
import { drivers } from '../../../test/support/drivers.js';
import { type Consumer, EventBus, type EventBusOptions, publish } from './bus.js';
import { NatsTransport } from './nats-transport.js';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
const natsUrl = backendUrl('nats');

async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

interface Recorder {
  consumer: Consumer;
  /** `payload.n` of the events handled, in order. */
  seen: number[];
  resyncs: number;
}

function recorder(name: string, perNode: boolean): Recorder {
  const r: Recorder = {
    seen: [],
    resyncs: 0,
    consumer: {
      name,
      topics: ['pernode.thing.*'],
      perNode,
      async handle(event) {
        r.seen.push(event.payload.n as number);
      },
      async resync() {
        r.resyncs++;
      },
    },
  };
  return r;
}

/** Test helpers over one database: publishing, and what the bus recorded for a consumer. */
function probes(t: TestDb) {
  return {
    emit: (n: number) =>
      t.db.transaction((trx) => publish(trx, { topic: 'pernode.thing.created', payload: { n } })),
    async deliveries(consumer: string, status?: 'pending' | 'done' | 'dead'): Promise<number> {
      const r = await sql<{ c: number }>`select count(*)::int as c from platform.event_deliveries
        where consumer = ${consumer} and (${status ?? null}::text is null or status = ${status ?? null})`.execute(
        t.db.kysely,
      );
      return r.rows[0]!.c;
    },
    async registration(name: string): Promise<{ per_node: boolean; seen_at: Date | null } | undefined> {
      const r = await sql<{ per_node: boolean; seen_at: Date | null }>`
        select per_node, seen_at from platform.event_consumers where name = ${name}`.execute(t.db.kysely);
      return r.rows[0];
    },
  };
}

describe('per-node consumer options', () => {
  it('refuses a TTL shorter than two heartbeats', () => {
    expect(
      () =>
        new EventBus({ db: {} as EventBusOptions['db'], log, perNodeHeartbeatMs: 100, perNodeTtlMs: 150 }),
    ).toThrow(/perNodeTtlMs must be at least twice perNodeHeartbeatMs/);
  });
});

for (const driver of drivers()) {
  describe(`per-node event consumers (${driver.name}, in-process)`, () => {
    const t = useDatabase(driver);
    const { emit, deliveries, registration } = probes(t);
    const started: EventBus[] = [];
    const suffix = Math.random().toString(36).slice(2, 8);

    async function node(consumers: Consumer[], options: Partial<EventBusOptions> = {}): Promise<EventBus> {
      const bus = new EventBus({
        db: t.db,
        log,
        pollMs: 20,
        retryBaseMs: 10,
        retryMaxMs: 40,
        perNodeHeartbeatMs: 50,
        perNodeTtlMs: 500,
        ...options,
      });
      for (const c of consumers) bus.subscribe(c);
      await bus.start();
      started.push(bus);
      return bus;
    }

    afterEach(async () => {
      for (const bus of started.splice(0)) await bus.stop();
    });

    it('forgets a crashed node after the TTL, with its deliveries, and keeps the durable consumers', async () => {
      // A TTL long enough that the crashed node still looks alive for the relay right after the
      // crash, even on a loaded CI machine (500 ms was not).
      const ttl = { perNodeTtlMs: 2_500 };
      const survivor = await node([], ttl);
      const perNode = recorder(`test.pernode.${suffix}.crashed`, true);
      const durable = recorder(`test.durable.${suffix}`, false);
      const crashing = await node([perNode.consumer, durable.consumer], ttl);
      expect(await registration(perNode.consumer.name)).toMatchObject({
        per_node: true,
        seen_at: expect.any(Date),
      });
      expect(await registration(durable.consumer.name)).toMatchObject({ per_node: false, seen_at: null });

      await emit(1);
      crashing.wake();
      await waitFor(() => perNode.seen.includes(1) && durable.seen.includes(1));

      await crashing.abandon();
      // Relayed while the crashed node still looks alive: a pending delivery nobody runs.
      await emit(2);
      await survivor.relayOnce();
      // The survivor's own relay loop may be relaying the event at the same moment (relayOnce then
      // finds nothing to do): wait for its commit rather than read before it.
      await waitFor(async () => (await deliveries(perNode.consumer.name, 'pending')) === 1);
      expect(await deliveries(perNode.consumer.name, 'pending')).toBe(1);
      expect(await deliveries(durable.consumer.name, 'pending')).toBe(1);

      // The survivor's sweep removes the registration once the TTL has passed.
      await waitFor(async () => (await registration(perNode.consumer.name)) === undefined, 15_000);
      expect(await deliveries(perNode.consumer.name)).toBe(0);

      await emit(3);
      await survivor.flush();
      expect(await deliveries(perNode.consumer.name)).toBe(0);
      // The durable consumer is still registered and its events wait for it.
      expect(await registration(durable.consumer.name)).toMatchObject({ per_node: false });
      expect(await deliveries(durable.consumer.name, 'pending')).toBe(2);
      expect(perNode.seen).toEqual([1]);

      // The node comes back under the same name: registered again, it hears new events only.
      const restarted = recorder(perNode.consumer.name, true);
      await node([restarted.consumer]);
      expect(await registration(perNode.consumer.name)).toMatchObject({ per_node: true });
      await emit(4);
      survivor.wake();
      await waitFor(() => restarted.seen.includes(4));
      expect(restarted.seen).toEqual([4]);
      expect(await deliveries(durable.consumer.name, 'pending')).toBe(3);
    });

    it('unregisters at once on a clean stop, dropping the deliveries made by its final relay', async () => {
      const survivor = await node([]);
      const perNode = recorder(`test.pernode.${suffix}.clean`, true);
      const stopping = await node([perNode.consumer]);
      await emit(10);
      stopping.wake();
      await waitFor(() => perNode.seen.includes(10));
      expect(await deliveries(perNode.consumer.name, 'done')).toBe(1);

      // Committed but not relayed yet: the stopping node's final relay fans it out to itself.
      await emit(11);
      await stopping.stop();
      expect(await registration(perNode.consumer.name)).toBeUndefined();
      expect(await deliveries(perNode.consumer.name)).toBe(0);

      await emit(12);
      await survivor.flush();
      expect(await deliveries(perNode.consumer.name)).toBe(0);
    });

    it('drops, on a restart within the TTL, what was pending for the earlier run', async () => {
      // Long enough that the crashed run still looks alive while the test relays (see above).
      const ttl = { perNodeTtlMs: 2_500 };
      const survivor = await node([], ttl);
      const first = recorder(`test.pernode.${suffix}.restart`, true);
      const crashing = await node([first.consumer], ttl);
      await crashing.abandon();
      await emit(20);
      await survivor.relayOnce();
      await waitFor(async () => (await deliveries(first.consumer.name, 'pending')) === 1);
      expect(await deliveries(first.consumer.name, 'pending')).toBe(1);

      const second = recorder(first.consumer.name, true);
      await node([second.consumer], ttl);
      expect(await deliveries(first.consumer.name, 'pending')).toBe(0);
      await emit(21);
      survivor.wake();
      await waitFor(() => second.seen.includes(21));
      expect(second.seen).toEqual([21]);
      expect(first.seen).toEqual([]);
    });

    it('resyncs a live node whose registration lapsed, and delivers to it again', async () => {
      // Slow heartbeats: this test beats by hand, and no other node sweeps.
      const perNode = recorder(`test.pernode.${suffix}.lapsed`, true);
      const lagging = await node([perNode.consumer], { perNodeHeartbeatMs: 10_000, perNodeTtlMs: 20_000 });
      await new Promise((r) => setTimeout(r, 100)); // the liveness loop's first beat, at start
      expect(perNode.resyncs).toBe(0);

      // As if the node had not been seen for an hour (database out of reach, process stalled).
      await sql`update platform.event_consumers set seen_at = now() - interval '1 hour'
                where name = ${perNode.consumer.name}`.execute(t.db.kysely);
      await emit(30);
      await lagging.relayOnce();
      expect(await deliveries(perNode.consumer.name)).toBe(0);

      await lagging.livenessOnce();
      expect(perNode.resyncs).toBe(1);
      const seenAt = (await registration(perNode.consumer.name))!.seen_at!;
      expect(Date.now() - seenAt.getTime()).toBeLessThan(5_000);

      await emit(31);
      lagging.wake();
      await waitFor(() => perNode.seen.includes(31));
      expect(perNode.seen).toEqual([31]);
      await lagging.livenessOnce();
      expect(perNode.resyncs).toBe(1);
    });
  });
}

if (natsUrl) {
  for (const driver of drivers()) {
    describe(`per-node event consumers (${driver.name}, nats)`, () => {
      const t = useDatabase(driver);
      const { emit, deliveries, registration } = probes(t);
      const id = Math.random().toString(36).slice(2, 10);
      const stream = `WARDEN_T_PN_${id.toUpperCase()}`;
      const started: EventBus[] = [];
      let nc: NatsConnection;
      let jsm: JetStreamManager;
      const TTL_MS = 3_000;

      async function node(consumers: Consumer[]): Promise<EventBus> {
        const transport = new NatsTransport({
          url: natsUrl!,
          stream,
          subjectPrefix: `test_${id}.events`,
          log,
        });
        const bus = new EventBus({
          db: t.db,
          log,
          transport,
          pollMs: 20,
          retryBaseMs: 10,
          retryMaxMs: 40,
          perNodeHeartbeatMs: 500,
          perNodeTtlMs: TTL_MS,
        });
        for (const c of consumers) bus.subscribe(c);
        await bus.start();
        started.push(bus);
        return bus;
      }
      const durableName = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_');
      const exists = (name: string) =>
        jsm.consumers.info(stream, durableName(name)).then(
          () => true,
          () => false,
        );

      beforeAll(async () => {
        const url = new URL(natsUrl!);
        nc = await connect({ servers: `${url.hostname}:${url.port || 4222}` });
        jsm = await nc.jetstreamManager();
      });
      afterEach(async () => {
        for (const bus of started.splice(0)) await bus.stop();
      });
      afterAll(async () => {
        await jsm?.streams.delete(stream).catch(() => {});
        await nc?.close();
      });

      it('creates the JetStream consumer with the TTL as inactivity threshold and deletes it on a clean stop', async () => {
        const perNode = recorder(`test.pernode.${id}.clean`, true);
        const bus = await node([perNode.consumer]);
        const info = await jsm.consumers.info(stream, durableName(perNode.consumer.name));
        expect(info.config).toMatchObject({
          durable_name: durableName(perNode.consumer.name),
          deliver_policy: 'new',
          inactive_threshold: TTL_MS * 1_000_000,
        });
        await emit(1);
        bus.wake();
        await waitFor(() => perNode.seen.includes(1));

        await bus.stop();
        expect(await exists(perNode.consumer.name)).toBe(false);
        expect(await registration(perNode.consumer.name)).toBeUndefined();
        expect(await deliveries(perNode.consumer.name)).toBe(0);
      });

      it('starts a restarted node at new events, and lets the server delete the consumer of a crashed one', async () => {
        const relay = await node([]);
        const first = recorder(`test.pernode.${id}.crashed`, true);
        const crashing = await node([first.consumer]);
        await crashing.abandon();
        expect(await exists(first.consumer.name)).toBe(true);
        // Published while the node is down: waiting in its JetStream consumer.
        await emit(10);
        await relay.flush();

        const second = recorder(first.consumer.name, true);
        const restarted = await node([second.consumer]);
        await emit(11);
        relay.wake();
        await waitFor(() => second.seen.includes(11));
        expect(second.seen).toEqual([11]);

        await restarted.abandon();
        expect(await exists(first.consumer.name)).toBe(true);
        // No pull requests any more: the server deletes it after the threshold, the sweep its registration.
        await waitFor(async () => !(await exists(first.consumer.name)), 4 * TTL_MS);
        await waitFor(async () => (await registration(first.consumer.name)) === undefined, 4 * TTL_MS);
        expect(await deliveries(first.consumer.name)).toBe(0);
      });

      it('creates the consumer again and resyncs when the server deleted it under a live node', async () => {
        const perNode = recorder(`test.pernode.${id}.lapsed`, true);
        const bus = await node([perNode.consumer]);
        await jsm.consumers.delete(stream, durableName(perNode.consumer.name));
        await waitFor(() => perNode.resyncs === 1, 4 * TTL_MS);
        expect(await exists(perNode.consumer.name)).toBe(true);

        await emit(20);
        bus.wake();
        await waitFor(() => perNode.seen.includes(20));
        expect(perNode.seen).toEqual([20]);
      });
    });
  }
}
