/**
 * Domain events through a transactional outbox.
 *
 * - `publish(trx, event)` inserts the event in the caller's transaction: it exists iff the state
 *   change committed.
 * - The relay moves committed events on: in-process (default) it fans each event out into one
 *   delivery row per registered consumer; with NATS it publishes to JetStream (message id = event
 *   id, so a relay retry is deduplicated by the server) and consumers read from there.
 * - A consumer's handler runs in a transaction that also records the delivery as done, so its
 *   database effects happen once per event even when the event arrives again (at-least-once
 *   delivery, effectively-once effects). Failures retry with backoff; after `maxAttempts` the
 *   delivery is dead, listed by `listDead` and re-run by `replayDead`.
 * - Consumers are durable by default: registered for good (`platform.event_consumers`, or a
 *   JetStream durable), so events wait for a consumer whose nodes are all down. A `perNode`
 *   consumer (state in one process's memory, rebuilt at start) lives as long as its node: the node
 *   marks it alive every `perNodeHeartbeatMs`; the relay skips it once it is unseen for
 *   `perNodeTtlMs`; any node's sweep then deletes it with its deliveries (NATS: the server deletes
 *   its JetStream consumer, idle that long); a clean stop removes it at once.
 */
import { sql } from 'kysely';
import { backoffDelay } from '../backoff.js';
import type { Database, Tx } from '../db/database.js';
import { newId } from '../ids.js';
import { type LoopLogger, PollingLoop } from '../loop.js';

export interface DomainEvent<P = Record<string, unknown>> {
  id: string;
  topic: string;
  tenantId: string | null;
  payload: P;
  createdAt: string;
}

export interface NewEvent<P = Record<string, unknown>> {
  topic: string;
  tenantId?: string | null;
  payload: P;
}

export interface Consumer {
  /** Stable name: the idempotency records are kept under it. */
  name: string;
  /** Topics, exact (`identity.tenant.created`) or a prefix ending in `.*` (`identity.*`). */
  topics: string[];
  /** Runs inside a transaction that also marks the delivery done. Throw to retry. */
  handle(event: DomainEvent, trx: Tx): Promise<void>;
  maxAttempts?: number;
  /**
   * Per-node (default false: durable). For state that lives in this process only and is rebuilt
   * from the database at start, so every node needs every event while it runs and none from
   * before: the consumer gets only events relayed while its node runs (deliveries still pending
   * from an earlier run are dropped at start; on NATS its JetStream consumer starts at new
   * messages), and is forgotten with its node: at once on a clean stop, after `perNodeTtlMs`
   * unseen when the node crashed. Forgetting deletes its deliveries, dead ones included: they
   * could only ever be replayed to the process that is gone. The name must be unique to the node.
   *
   * @example
   *   bus.subscribe({ name: `authz.revocations.${nodeId}`, topics: ['authz.delegation.revoked'],
   *     perNode: true, handle: async (e) => revoked.add(e.payload.id), resync: reloadRevoked });
   */
  perNode?: boolean;
  /**
   * Per-node consumers: events may have been missed, rebuild the state from the database. The bus
   * calls it when the node was unseen for longer than `perNodeTtlMs` (database or broker out of
   * reach, a stalled process) and deliveries to it stopped, after registering the consumer again
   * (so an event is either delivered or already in the database when this reads it). Retried on
   * each heartbeat until it succeeds. Without it, such a gap is logged as an error.
   */
  resync?(): Promise<void>;
}

export interface DeadLetter {
  consumer: string;
  eventId: string;
  topic: string;
  tenantId: string | null;
  attempts: number;
  lastError: string | null;
  failedAt: string;
}

/** Where committed events go after the outbox: in-process deliveries, or a broker. */
export interface EventTransport {
  readonly name: 'in-process' | 'nats';
  /** Called by the relay with committed, not yet relayed events; resolves once they are durable downstream. */
  send(events: DomainEvent[]): Promise<void>;
  /** Start consuming for these local consumers. */
  startConsumers(bus: EventBus, consumers: Consumer[]): Promise<void>;
  /**
   * Stop consuming and remove this node's per-node consumers from the broker; with `keepPerNode`
   * leave them, as a crash would (tests), for the broker to expire.
   */
  stop(options?: { keepPerNode?: boolean }): Promise<void>;
  ping?(): Promise<void>;
}

const TOPIC_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_PAYLOAD_BYTES = 256 * 1024;
const BATCH = 500;
const DEFAULT_PER_NODE_HEARTBEAT_MS = 10_000;
const DEFAULT_PER_NODE_TTL_MS = 60_000;

export function topicMatches(patterns: string[], topic: string): boolean {
  for (const p of patterns) {
    if (p === topic) return true;
    if (p.endsWith('.*') && topic.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/**
 * Write an event into the outbox inside the caller's transaction.
 *
 * @example
 *   await db.transaction(async (trx) => {
 *     await trx.insertInto('identity.tenants').values(row).execute();
 *     await publish(trx, { topic: 'identity.tenant.created', tenantId: row.id, payload: { id: row.id } });
 *   });
 */
export async function publish<P extends Record<string, unknown>>(
  trx: Tx,
  event: NewEvent<P>,
): Promise<string> {
  if (!TOPIC_RE.test(event.topic))
    throw new Error(`event topic ${JSON.stringify(event.topic)} is not module.name[.name]`);
  const payload = JSON.stringify(event.payload);
  if (payload.length > MAX_PAYLOAD_BYTES) throw new Error(`event payload over ${MAX_PAYLOAD_BYTES} bytes`);
  const id = newId();
  await sql`insert into platform.outbox (id, topic, tenant_id, payload)
            values (${id}, ${event.topic}, ${event.tenantId ?? null}, ${payload}::jsonb)`.execute(trx);
  return id;
}

interface OutboxRow {
  id: string;
  topic: string;
  tenant_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

function toEvent(r: OutboxRow): DomainEvent {
  return {
    id: r.id,
    topic: r.topic,
    tenantId: r.tenant_id,
    payload: r.payload,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export interface EventBusOptions {
  db: Database;
  transport?: EventTransport;
  log: LoopLogger & { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  pollMs?: number;
  /** Delays of retries; tests shorten them. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * How often this node marks its per-node consumers alive and sweeps those of departed nodes
   * (default 10 s).
   */
  perNodeHeartbeatMs?: number;
  /**
   * How long a per-node consumer may go unseen before its node counts as gone: the relay stops
   * giving it events and the sweep deletes it (default 60 s). At least twice the heartbeat, so one
   * slow beat is not a departure; with NATS at least 3 s (see nats-transport.ts).
   */
  perNodeTtlMs?: number;
}

export class EventBus {
  readonly db: Database;
  readonly transport: EventTransport;
  private readonly consumers = new Map<string, Consumer>();
  private readonly relayLoop: PollingLoop;
  private readonly deliveryLoop: PollingLoop;
  private readonly log: EventBusOptions['log'];
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  /** See `EventBusOptions.perNodeTtlMs`; the NATS transport gives it to the server. */
  readonly perNodeTtlMs: number;
  private readonly livenessLoop: PollingLoop;
  /** Per-node consumers that may have missed events and wait for their `resync`. */
  private readonly resyncDue = new Set<string>();
  private started = false;

  constructor(options: EventBusOptions) {
    this.db = options.db;
    this.log = options.log;
    this.transport = options.transport ?? new InProcessTransport();
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
    const heartbeatMs = options.perNodeHeartbeatMs ?? DEFAULT_PER_NODE_HEARTBEAT_MS;
    this.perNodeTtlMs = options.perNodeTtlMs ?? DEFAULT_PER_NODE_TTL_MS;
    if (!(heartbeatMs > 0) || !(this.perNodeTtlMs >= 2 * heartbeatMs)) {
      throw new Error(
        `perNodeTtlMs must be at least twice perNodeHeartbeatMs (a positive number), got ${this.perNodeTtlMs} and ${heartbeatMs}`,
      );
    }
    const pollMs = options.pollMs ?? 250;
    this.relayLoop = new PollingLoop('outbox-relay', pollMs, () => this.relayOnce(), this.log);
    this.deliveryLoop = new PollingLoop('event-delivery', pollMs, () => this.deliverOnce(), this.log);
    this.livenessLoop = new PollingLoop(
      'event-consumer-liveness',
      heartbeatMs,
      () => this.livenessOnce(),
      this.log,
    );
  }

  /** Register a consumer on this node. Call before `start`. */
  subscribe(consumer: Consumer): void {
    if (this.started) throw new Error('subscribe before the bus starts');
    if (this.consumers.has(consumer.name)) throw new Error(`consumer ${consumer.name} registered twice`);
    this.consumers.set(consumer.name, consumer);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.resyncDue.clear();
    // Registered in the database so a relay on any node fans out to consumers running elsewhere.
    for (const c of this.consumers.values()) {
      if (c.perNode) {
        await this.registerPerNode(c, { dropPending: true });
        continue;
      }
      await sql`insert into platform.event_consumers (name, topics) values (${c.name}, ${c.topics}::text[])
                on conflict (name) do update set topics = excluded.topics, per_node = false, seen_at = null,
                  updated_at = now()`.execute(this.db.kysely);
    }
    await this.transport.startConsumers(this, [...this.consumers.values()]);
    this.relayLoop.start();
    this.deliveryLoop.start();
    // On every node, consumers or not: the sweep must run wherever nodes remain.
    this.livenessLoop.start();
  }

  /** New events were committed: relay them now rather than at the next poll. */
  wake(): void {
    this.relayLoop.wake();
  }

  /** Relay and deliver everything pending now (clean shutdown, tests). */
  async flush(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const more = await this.relayOnce();
      const delivered = await this.deliverOnce();
      if (!more && !delivered) return;
    }
  }

  /** Clean stop: relays what was committed, and forgets this node's per-node consumers at once. */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.relayLoop.stop();
    await this.deliveryLoop.stop();
    // Before unregistering: a heartbeat after it would register the consumers again.
    await this.livenessLoop.stop();
    await this.relayOnce().catch((err) => this.log.error({ err }, 'final outbox relay failed'));
    await this.transport.stop();
    await this.unregisterPerNode().catch((err) =>
      this.log.warn(
        { err },
        'could not unregister per-node event consumers; other nodes sweep them after the TTL',
      ),
    );
    this.started = false;
  }

  /**
   * Stops this node's loops and transport as a crash would: nothing relayed, per-node consumers
   * left registered for other nodes' sweep (and NATS's inactivity limit) to remove. Tests of crash
   * recovery; a process uses `stop`.
   */
  async abandon(): Promise<void> {
    if (!this.started) return;
    await this.relayLoop.stop();
    await this.deliveryLoop.stop();
    await this.livenessLoop.stop();
    await this.transport.stop({ keepPerNode: true });
    this.started = false;
  }

  /**
   * A per-node consumer may have missed events: its broker consumer vanished and the transport
   * created it again. Runs its `resync` soon (and again on each heartbeat until it succeeds).
   */
  resyncPerNode(consumerName: string): void {
    if (!this.consumers.get(consumerName)?.perNode) return;
    this.resyncDue.add(consumerName);
    this.livenessLoop.wake();
  }

  /**
   * One heartbeat: marks this node's per-node consumers alive (registering again any that lapsed),
   * deletes those of departed nodes, and runs due resyncs. Called by the liveness loop; public for
   * tests that must not wait for it.
   */
  async livenessOnce(): Promise<boolean> {
    await this.beat();
    await this.sweep();
    await this.runResyncs();
    return false;
  }

  private perNodeConsumers(): Consumer[] {
    return [...this.consumers.values()].filter((c) => c.perNode === true);
  }

  private ttlSeconds(): number {
    return this.perNodeTtlMs / 1000;
  }

  /**
   * Registers (or re-registers) a per-node consumer as seen now. At start its pending deliveries go:
   * they are events from before this run, which the consumer rebuilds from the database instead.
   * The insert comes first: a sweep deleting a stale registration of the same name holds that row,
   * and waiting for it before touching deliveries (which the sweep deletes next) cannot deadlock.
   */
  private async registerPerNode(c: Consumer, options: { dropPending: boolean }): Promise<void> {
    await this.db.transaction(async (trx) => {
      await sql`insert into platform.event_consumers (name, topics, per_node, seen_at)
                values (${c.name}, ${c.topics}::text[], true, now())
                on conflict (name) do update set topics = excluded.topics, per_node = true, seen_at = now(),
                  updated_at = now()`.execute(trx);
      if (options.dropPending) {
        await sql`delete from platform.event_deliveries where consumer = ${c.name} and status = 'pending'`.execute(
          trx,
        );
      }
    });
  }

  private async beat(): Promise<void> {
    const mine = this.perNodeConsumers();
    if (mine.length === 0) return;
    // `old` is the row as it was before this update: whether the relay could have skipped it.
    const seen = await sql<{ name: string; lapsed: boolean }>`
      update platform.event_consumers c set seen_at = now()
      from platform.event_consumers old
      where c.name = old.name and c.per_node and c.name = any(${mine.map((c) => c.name)}::text[])
      returning c.name, old.seen_at <= now() - make_interval(secs => ${this.ttlSeconds()}::double precision) as lapsed`.execute(
      this.db.kysely,
    );
    const fresh = new Map(seen.rows.map((r) => [r.name, r.lapsed]));
    for (const c of mine) {
      const lapsed = fresh.get(c.name);
      if (lapsed === false) continue;
      // Unseen for longer than the TTL, or already swept: the relay gave it nothing meanwhile.
      if (lapsed === undefined) await this.registerPerNode(c, { dropPending: false });
      // With a broker the registration only serves the sweep; the broker's own consumer carries
      // events, and the transport reports when that one lapses.
      if (this.transport.name !== 'in-process') continue;
      this.log.warn(
        { consumer: c.name, ttlMs: this.perNodeTtlMs },
        'per-node event consumer was not seen within its TTL and may have missed events; resyncing',
      );
      this.resyncDue.add(c.name);
    }
  }

  /** Deletes per-node consumers unseen for longer than the TTL, with their deliveries. */
  private async sweep(): Promise<void> {
    await this.db.transaction(async (trx) => {
      // Waits for relays holding these rows (`for key share`): their delivery rows are then
      // committed, and the next statement (a new snapshot) deletes them too.
      const gone = await sql<{ name: string }>`delete from platform.event_consumers
        where per_node and seen_at <= now() - make_interval(secs => ${this.ttlSeconds()}::double precision)
        returning name`.execute(trx);
      if (gone.rows.length === 0) return;
      const names = gone.rows.map((r) => r.name);
      const dropped = await this.dropDeliveries(trx, names);
      this.log.info(
        { consumers: names, ...dropped },
        'forgot the per-node event consumers of departed nodes',
      );
    });
  }

  private async unregisterPerNode(): Promise<void> {
    const names = this.perNodeConsumers().map((c) => c.name);
    if (names.length === 0) return;
    await this.db.transaction(async (trx) => {
      await sql`delete from platform.event_consumers where per_node and name = any(${names}::text[])`.execute(
        trx,
      );
      await this.dropDeliveries(trx, names);
    });
  }

  /**
   * Deletes every delivery of departed per-node consumers. Pending ones would never run; done ones
   * only guarded against a second delivery to a process that is gone; dead ones could only be
   * replayed to it (their state died with it and was rebuilt from the database by its successor),
   * so keeping them would grow `listDead` with every departed node. They are counted in the log.
   */
  private async dropDeliveries(
    trx: Tx,
    names: string[],
  ): Promise<{ pending: number; done: number; dead: number }> {
    const rows = await sql<{ status: 'pending' | 'done' | 'dead'; n: number }>`
      with d as (delete from platform.event_deliveries where consumer = any(${names}::text[]) returning status)
      select status, count(*)::int as n from d group by status`.execute(trx);
    const counts = { pending: 0, done: 0, dead: 0 };
    for (const r of rows.rows) counts[r.status] = r.n;
    if (counts.dead > 0) {
      this.log.warn(
        { consumers: names, dead: counts.dead },
        'dropped dead letters of departed per-node consumers',
      );
    }
    return counts;
  }

  private async runResyncs(): Promise<void> {
    for (const name of [...this.resyncDue]) {
      const c = this.consumers.get(name);
      if (!c?.resync) {
        this.resyncDue.delete(name);
        this.log.error(
          { consumer: name },
          'per-node event consumer may have missed events and has no resync: its state is incomplete until the node restarts',
        );
        continue;
      }
      try {
        await c.resync();
        this.resyncDue.delete(name);
        this.log.info({ consumer: name }, 'per-node event consumer resynced');
      } catch (err) {
        this.log.error(
          { err, consumer: name },
          'per-node event consumer resync failed; retrying at the next heartbeat',
        );
      }
    }
  }

  /** Moves one batch of committed events to the transport. Returns true if the batch was full. */
  async relayOnce(): Promise<boolean> {
    if (this.transport.name === 'in-process') {
      return this.db.transaction(async (trx) => {
        const rows =
          await sql<OutboxRow>`select id, topic, tenant_id, payload, created_at from platform.outbox
          where relayed_at is null order by id limit ${BATCH} for update skip locked`.execute(trx);
        if (rows.rows.length === 0) return false;
        // Durable consumers, and per-node ones whose node was seen within the TTL. `for key share`
        // keeps the sweep from deleting a consumer (and its deliveries) under this transaction, so
        // no delivery row is left behind for a consumer that is gone; heartbeats still go through.
        const consumers = await sql<{ name: string; topics: string[] }>`
          select name, topics from platform.event_consumers
          where not per_node or seen_at > now() - make_interval(secs => ${this.ttlSeconds()}::double precision)
          for key share`.execute(trx);
        const values: { consumer: string; eventId: string }[] = [];
        for (const r of rows.rows) {
          for (const c of consumers.rows)
            if (topicMatches(c.topics, r.topic)) values.push({ consumer: c.name, eventId: r.id });
        }
        if (values.length > 0) {
          await sql`insert into platform.event_deliveries (consumer, event_id, status)
            select c, e, 'pending' from unnest(${values.map((v) => v.consumer)}::text[], ${values.map((v) => v.eventId)}::uuid[]) as t(c, e)
            on conflict do nothing`.execute(trx);
        }
        await sql`update platform.outbox set relayed_at = now() where id = any(${rows.rows.map((r) => r.id)}::uuid[])`.execute(
          trx,
        );
        if (values.length > 0) queueMicrotask(() => this.deliveryLoop.wake());
        return rows.rows.length === BATCH;
      });
    }
    // Broker: read, send (network, so outside any transaction), then mark. A crash between send and
    // mark re-sends; JetStream drops the duplicate by message id and consumers are idempotent anyway.
    const rows = await sql<OutboxRow>`select id, topic, tenant_id, payload, created_at from platform.outbox
      where relayed_at is null order by id limit ${BATCH}`.execute(this.db.kysely);
    if (rows.rows.length === 0) return false;
    await this.transport.send(rows.rows.map(toEvent));
    await sql`update platform.outbox set relayed_at = now() where id = any(${rows.rows.map((r) => r.id)}::uuid[])`.execute(
      this.db.kysely,
    );
    return rows.rows.length === BATCH;
  }

  /**
   * Runs due pending deliveries of this node's consumers (in-process fan-out, and replays of dead
   * letters in any mode). Returns true if it did work.
   */
  async deliverOnce(): Promise<boolean> {
    const names = [...this.consumers.keys()];
    if (names.length === 0) return false;
    const due = await sql<{ consumer: string; event_id: string }>`
      select consumer, event_id from platform.event_deliveries
      where status = 'pending' and next_attempt_at <= now() and consumer = any(${names}::text[])
      order by next_attempt_at limit 100`.execute(this.db.kysely);
    for (const d of due.rows) await this.deliverPending(d.consumer, d.event_id);
    return due.rows.length > 0;
  }

  private async deliverPending(consumerName: string, eventId: string): Promise<void> {
    const consumer = this.consumers.get(consumerName)!;
    let failure: { attempts: number; error: string } | undefined;
    await this.db.transaction(async (trx) => {
      const claimed = await sql<{ attempts: number } & OutboxRow>`
        select d.attempts, o.id, o.topic, o.tenant_id, o.payload, o.created_at
        from platform.event_deliveries d join platform.outbox o on o.id = d.event_id
        where d.consumer = ${consumerName} and d.event_id = ${eventId} and d.status = 'pending'
          and d.next_attempt_at <= now()
        for update of d skip locked`.execute(trx);
      const row = claimed.rows[0];
      if (!row) return; // another node has it, or it is no longer due
      await sql`savepoint handler`.execute(trx);
      try {
        await consumer.handle(toEvent(row), trx);
        await sql`release savepoint handler`.execute(trx);
        await sql`update platform.event_deliveries set status = 'done', attempts = attempts + 1, updated_at = now(),
                  last_error = null where consumer = ${consumerName} and event_id = ${eventId}`.execute(trx);
      } catch (err) {
        await sql`rollback to savepoint handler`.execute(trx);
        failure = { attempts: row.attempts + 1, error: errorText(err) };
        await this.recordFailure(trx, consumer, eventId, failure.attempts, failure.error);
      }
    });
    if (failure) {
      this.log.warn(
        { consumer: consumerName, eventId, attempts: failure.attempts, error: failure.error },
        'event handler failed',
      );
    }
  }

  private async recordFailure(trx: Tx, consumer: Consumer, eventId: string, attempts: number, error: string) {
    const max = consumer.maxAttempts ?? 8;
    const dead = attempts >= max;
    const delay = backoffDelay(attempts, { baseMs: this.retryBaseMs, maxMs: this.retryMaxMs });
    await sql`insert into platform.event_deliveries (consumer, event_id, status, attempts, next_attempt_at, last_error)
      values (${consumer.name}, ${eventId}, ${dead ? 'dead' : 'pending'}, ${attempts},
              now() + make_interval(secs => ${delay / 1000}::double precision), ${error})
      on conflict (consumer, event_id) do update set status = excluded.status, attempts = excluded.attempts,
        next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, updated_at = now()`.execute(
      trx,
    );
  }

  /**
   * Runs `consumer` on an event that arrived from a broker. Returns 'done' (ack), 'duplicate'
   * (already handled: ack), or 'retry' / 'dead' after a failure (the caller naks or terminates).
   */
  async handleDelivered(
    consumer: Consumer,
    event: DomainEvent,
    deliveryCount: number,
  ): Promise<'done' | 'duplicate' | 'retry' | 'dead'> {
    let outcome = 'done' as 'done' | 'duplicate' | 'retry' | 'dead';
    let errorMessage = '';
    await this.db.transaction(async (trx) => {
      const inserted = await sql`insert into platform.event_deliveries (consumer, event_id, status, attempts)
        values (${consumer.name}, ${event.id}, 'done', ${deliveryCount}) on conflict do nothing returning event_id`.execute(
        trx,
      );
      if (inserted.rows.length === 0) {
        outcome = 'duplicate';
        return;
      }
      await sql`savepoint handler`.execute(trx);
      try {
        await consumer.handle(event, trx);
        await sql`release savepoint handler`.execute(trx);
      } catch (err) {
        await sql`rollback to savepoint handler`.execute(trx);
        errorMessage = errorText(err);
        const dead = deliveryCount >= (consumer.maxAttempts ?? 8);
        outcome = dead ? 'dead' : 'retry';
        if (dead) {
          await sql`update platform.event_deliveries set status = 'dead', last_error = ${errorMessage}, updated_at = now()
                    where consumer = ${consumer.name} and event_id = ${event.id}`.execute(trx);
        } else {
          // Not recorded: the broker redelivers, and the next delivery must find no row.
          await sql`delete from platform.event_deliveries where consumer = ${consumer.name} and event_id = ${event.id}`.execute(
            trx,
          );
        }
      }
    });
    if (outcome === 'retry' || outcome === 'dead') {
      this.log.warn(
        { consumer: consumer.name, eventId: event.id, attempts: deliveryCount, error: errorMessage },
        'event handler failed',
      );
    }
    return outcome;
  }

  retryDelayMs(attempt: number): number {
    return backoffDelay(attempt, { baseMs: this.retryBaseMs, maxMs: this.retryMaxMs });
  }

  /** Dead letters, newest first, with a cursor on (failedAt, consumer, eventId). */
  async listDead(options: { consumer?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = await sql<{
      consumer: string;
      event_id: string;
      topic: string;
      tenant_id: string | null;
      attempts: number;
      last_error: string | null;
      updated_at: Date;
    }>`select d.consumer, d.event_id, o.topic, o.tenant_id, d.attempts, d.last_error, d.updated_at
       from platform.event_deliveries d join platform.outbox o on o.id = d.event_id
       where d.status = 'dead' and (${options.consumer ?? null}::text is null or d.consumer = ${options.consumer ?? null})
       order by d.updated_at desc limit ${limit}`.execute(this.db.kysely);
    return rows.rows.map((r) => ({
      consumer: r.consumer,
      eventId: r.event_id,
      topic: r.topic,
      tenantId: r.tenant_id,
      attempts: r.attempts,
      lastError: r.last_error,
      failedAt: new Date(r.updated_at).toISOString(),
    }));
  }

  /** Put dead deliveries back in the queue (all, one consumer's, or one event's). Returns how many. */
  async replayDead(filter: { consumer?: string; eventId?: string } = {}): Promise<number> {
    const res =
      await sql`update platform.event_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(),
        updated_at = now()
      where status = 'dead'
        and (${filter.consumer ?? null}::text is null or consumer = ${filter.consumer ?? null})
        and (${filter.eventId ?? null}::uuid is null or event_id = ${filter.eventId ?? null}::uuid)`.execute(
        this.db.kysely,
      );
    this.deliveryLoop.wake();
    return Number(res.numAffectedRows ?? 0);
  }

  /** Events committed but not yet relayed: readiness and metrics. */
  async backlog(): Promise<number> {
    const r = await sql<{
      n: number;
    }>`select count(*)::int as n from platform.outbox where relayed_at is null`.execute(this.db.kysely);
    return r.rows[0]?.n ?? 0;
  }
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 2000);
}

/** The default transport: deliveries are rows; the bus's delivery loop runs them. */
export class InProcessTransport implements EventTransport {
  readonly name = 'in-process' as const;
  async send(): Promise<void> {
    throw new Error('the in-process transport fans out inside the relay transaction');
  }
  async startConsumers(): Promise<void> {}
  async stop(_options?: { keepPerNode?: boolean }): Promise<void> {}
}
