/**
 * The event bus on NATS JetStream (`WARDEN_NATS_URL`).
 *
 * One stream `WARDEN_EVENTS` on subjects `warden.events.<topic>`. The relay publishes with the
 * event id as `Nats-Msg-Id`, so JetStream drops a re-sent event within its duplicate window. Each
 * Warden consumer is one durable pull consumer; several nodes running the same consumer share its
 * messages. Topic filtering is done here because the NATS server on our machines (2.9) allows a
 * single filter subject per consumer.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  type NatsConnection,
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

export class NatsTransport implements EventTransport {
  readonly name = 'nats' as const;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private readonly stream: string;
  private readonly prefix: string;
  private readonly subscriptions: ConsumerMessages[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

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
    await this.connect();
    const jsm = await this.nc!.jetstreamManager();
    for (const consumer of consumers) {
      const durable = consumer.name.replace(/[^A-Za-z0-9_-]/g, '_');
      try {
        await jsm.consumers.info(this.stream, durable);
      } catch {
        await jsm.consumers.add(this.stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          filter_subject: `${this.prefix}>`,
          ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
          max_deliver: -1,
        });
      }
      const c = await this.js!.consumers.get(this.stream, durable);
      const messages = await c.consume({ max_messages: 256 });
      this.subscriptions.push(messages);
      this.loops.push(this.run(bus, consumer, messages));
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

  async stop(): Promise<void> {
    for (const s of this.subscriptions) s.stop();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled(this.loops);
    if (this.nc && !this.nc.isClosed()) await this.nc.drain();
    this.nc = undefined;
  }
}
