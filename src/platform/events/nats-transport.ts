/**
 * The event bus on NATS JetStream (`WARDEN_NATS_URL`).
 *
 * One stream `WARDEN_EVENTS` on subjects `warden.events.<topic>`. The relay publishes with the
 * event id as `Nats-Msg-Id`, so JetStream drops a re-sent event within its duplicate window. Each
 * Warden consumer is one durable pull consumer; several nodes running the same consumer share its
 * messages. Topic filtering is done here because the NATS server on our machines (2.9) allows a
 * single filter subject per consumer.
 *
 * A per-node consumer (`Consumer.perNode`) is a durable created afresh at each start (new messages
 * only) with `inactive_threshold` = the bus's `perNodeTtlMs`: the server deletes it once no pull
 * request has come for that long, i.e. once its node is gone, and a clean stop deletes it at once.
 * Should the server delete it under a live node (cut off for longer than the TTL), the node
 * creates it again and has the consumer resync, since events went by meanwhile.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  ConsumerEvents,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  NatsError,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { Consumer, DomainEvent, EventBus, EventTransport } from './bus.js';
import { topicMatches } from './bus.js';

export interface NatsTransportOptions {
  url: string;
  stream?: string;
  /** Subject prefix (default `warden.events`); deployments sharing a NATS account use distinct ones. */
  subjectPrefix?: string;
  /** How long a delivered, unacknowledged event waits before redelivery (e.g. its consumer crashed). */
  ackWaitMs?: number;
  /** How long JetStream keeps events (ms). */
  maxAgeMs?: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

// JetStream's error code for "consumer not found".
const CONSUMER_NOT_FOUND = 10014;
// A pull request may not last less than this (nats.js refuses shorter `expires`).
const MIN_PULL_EXPIRES_MS = 1000;
const DEFAULT_PULL_EXPIRES_MS = 30_000;

/**
 * How long each pull request of a per-node consumer lasts. The server counts the consumer idle from
 * its last pull request, so a live node must pull again well within the inactivity threshold: a
 * third of it leaves room for one late request.
 */
function perNodePullExpiresMs(ttlMs: number): number {
  const expires = Math.min(DEFAULT_PULL_EXPIRES_MS, Math.floor(ttlMs / 3));
  if (expires < MIN_PULL_EXPIRES_MS) {
    throw new Error(
      `with NATS, perNodeTtlMs must be at least ${3 * MIN_PULL_EXPIRES_MS} (three pull requests of at least ${MIN_PULL_EXPIRES_MS} ms), got ${ttlMs}`,
    );
  }
  return expires;
}

function isConsumerNotFound(err: unknown): boolean {
  return err instanceof NatsError && err.api_error?.err_code === CONSUMER_NOT_FOUND;
}

export class NatsTransport implements EventTransport {
  readonly name = 'nats' as const;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private readonly stream: string;
  private readonly prefix: string;
  private readonly subscriptions: ConsumerMessages[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  /** JetStream names of this node's per-node consumers: deleted on a clean stop. */
  private readonly perNode: string[] = [];
  private stopping = false;

  constructor(private readonly options: NatsTransportOptions) {
    this.stream = options.stream ?? 'WARDEN_EVENTS';
    this.prefix = `${options.subjectPrefix ?? 'warden.events'}.`;
  }

  async connect(): Promise<void> {
    if (this.nc) return;
    const url = new URL(this.options.url);
    this.nc = await connect({
      servers: `${url.hostname}:${url.port || 4222}`,
      ...(url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : {}),
      name: 'warden',
      timeout: 5000,
      maxReconnectAttempts: -1,
    });
    const jsm = await this.nc.jetstreamManager();
    const config = {
      name: this.stream,
      subjects: [`${this.prefix}>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: (this.options.maxAgeMs ?? 7 * 24 * 3600_000) * 1_000_000,
      duplicate_window: 2 * 60 * 1_000_000_000,
    };
    try {
      await jsm.streams.info(this.stream);
      await jsm.streams.update(this.stream, config);
    } catch {
      await jsm.streams.add(config);
    }
    this.js = this.nc.jetstream();
  }

  async ping(): Promise<void> {
    if (!this.nc || this.nc.isClosed()) throw new Error('NATS connection is closed');
    await this.nc.flush();
  }

  async send(events: DomainEvent[]): Promise<void> {
    await this.connect();
    const js = this.js!;
    // All in flight at once: JetStream acks are the durability point, and pipelining them is ~3x
    // faster than one at a time.
    await Promise.all(
      events.map((e) =>
        js.publish(`${this.prefix}${e.topic}`, JSON.stringify(e), { msgID: e.id, timeout: 10_000 }),
      ),
    );
  }

  async startConsumers(bus: EventBus, consumers: Consumer[]): Promise<void> {
    const perNodeExpires = consumers.some((c) => c.perNode)
      ? perNodePullExpiresMs(bus.perNodeTtlMs)
      : undefined;
    await this.connect();
    this.stopping = false;
    const jsm = await this.nc!.jetstreamManager();
    for (const consumer of consumers) {
      const durable = consumer.name.replace(/[^A-Za-z0-9_-]/g, '_');
      if (consumer.perNode) {
        // One left by an earlier run of this node holds events from before this start, which the
        // consumer rebuilds from the database instead: begin afresh.
        await jsm.consumers.delete(this.stream, durable).catch((err) => {
          if (!isConsumerNotFound(err)) throw err;
        });
        await jsm.consumers.add(this.stream, this.consumerConfig(durable, bus.perNodeTtlMs));
        this.perNode.push(durable);
      } else {
        try {
          await jsm.consumers.info(this.stream, durable);
        } catch {
          await jsm.consumers.add(this.stream, this.consumerConfig(durable));
        }
      }
      const c = await this.js!.consumers.get(this.stream, durable);
      const messages = await c.consume({
        max_messages: 256,
        ...(consumer.perNode ? { expires: perNodeExpires } : {}),
      });
      this.subscriptions.push(messages);
      this.loops.push(this.run(bus, consumer, messages));
      if (consumer.perNode) this.loops.push(this.watchPerNode(jsm, bus, consumer, durable, messages));
    }
  }

  /** A durable consumer of every Warden subject; a per-node one also expires after `ttlMs` idle. */
  private consumerConfig(durable: string, ttlMs?: number): Partial<ConsumerConfig> {
    return {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: `${this.prefix}>`,
      ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
      max_deliver: -1,
      ...(ttlMs !== undefined ? { inactive_threshold: ttlMs * 1_000_000 } : {}),
    };
  }

  /**
   * Creates a per-node consumer again if the server deleted it under this live node (it saw no pull
   * request for the TTL: the node was cut off). The pull loop finds it again by name; the events
   * published meanwhile are not in it, so the bus has the consumer resync from the database.
   */
  private async watchPerNode(
    jsm: JetStreamManager,
    bus: EventBus,
    consumer: Consumer,
    durable: string,
    messages: ConsumerMessages,
  ): Promise<void> {
    for await (const status of await messages.status()) {
      if (this.stopping) return;
      if (status.type !== ConsumerEvents.ConsumerDeleted && status.type !== ConsumerEvents.ConsumerNotFound)
        continue;
      try {
        const exists = await jsm.consumers.info(this.stream, durable).then(
          () => true,
          (err) => {
            if (isConsumerNotFound(err)) return false;
            throw err;
          },
        );
        if (exists || this.stopping) continue;
        await jsm.consumers.add(this.stream, this.consumerConfig(durable, bus.perNodeTtlMs));
        this.options.log.warn(
          { consumer: consumer.name },
          "the server deleted this node's per-node JetStream consumer; created it again, resyncing",
        );
        bus.resyncPerNode(consumer.name);
      } catch (err) {
        // The pull loop keeps reporting the missing consumer: the next report tries again.
        this.options.log.error(
          { err, consumer: consumer.name },
          'could not create a per-node JetStream consumer again',
        );
      }
    }
  }

  private async run(bus: EventBus, consumer: Consumer, messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      const p = this.handle(bus, consumer, msg).catch((err) =>
        this.options.log.error(
          { err, consumer: consumer.name },
          'event consumer failed; message will be redelivered',
        ),
      );
      this.inFlight.add(p);
      await p;
      this.inFlight.delete(p);
    }
  }

  private async handle(bus: EventBus, consumer: Consumer, msg: JsMsg): Promise<void> {
    const topic = msg.subject.slice(this.prefix.length);
    if (!topicMatches(consumer.topics, topic)) {
      msg.ack();
      return;
    }
    let event: DomainEvent;
    try {
      event = JSON.parse(new TextDecoder().decode(msg.data)) as DomainEvent;
    } catch {
      this.options.log.warn({ subject: msg.subject }, 'undecodable event on the bus: dropped');
      msg.term();
      return;
    }
    const outcome = await bus.handleDelivered(consumer, event, msg.info.redeliveryCount);
    if (outcome === 'retry') msg.nak(bus.retryDelayMs(msg.info.redeliveryCount));
    else if (outcome === 'dead') msg.term();
    else msg.ack();
  }

  /** Removes the stream and its consumers (tests, decommissioning). */
  async deleteStream(): Promise<void> {
    await this.connect();
    const jsm = await this.nc!.jetstreamManager();
    await jsm.streams.delete(this.stream);
  }

  async stop(options: { keepPerNode?: boolean } = {}): Promise<void> {
    this.stopping = true;
    for (const s of this.subscriptions) s.stop();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled(this.loops);
    if (!options.keepPerNode && this.perNode.length > 0 && this.nc && !this.nc.isClosed()) {
      const jsm = await this.nc.jetstreamManager();
      for (const durable of this.perNode) {
        await jsm.consumers.delete(this.stream, durable).catch((err) => {
          if (isConsumerNotFound(err)) return;
          this.options.log.warn(
            { err, consumer: durable },
            'could not delete a per-node JetStream consumer; the server deletes it once idle for the TTL',
          );
        });
      }
    }
    this.perNode.length = 0;
    this.subscriptions.length = 0;
    this.loops.length = 0;
    if (this.nc && !this.nc.isClosed()) await this.nc.drain();
    this.nc = undefined;
  }
}
