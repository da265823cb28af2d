/**
 * Prometheus metrics for the edge and the runtime. One registry per server instance, so tests
 * that start several servers in one process do not share counters.
 */
import { collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';

/** Upper bounds of the request duration histogram, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One (method, route, status) series: a request count and a duration histogram. */
interface Series {
  readonly labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly buckets: Float64Array;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class HttpMetrics {
  readonly registry = new Registry();
  /**
   * route → method → status → series. Hand-kept rather than prom-client's labelled Counter and
   * Histogram: those hash and validate the label set on every observation, even through a cached
   * `labels()` child (about 1.3 µs a request on the edge, measured); here a finished request is three
   * Map lookups on strings and a number it already holds, a bucket search and three additions.
   * prom-client still renders the text format: the two series are registered as metrics below.
   */
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(prefix = 'warden_') {
    collectDefaultMetrics({ register: this.registry, prefix });
    const all = () =>
      [...this.series.values()].flatMap((m) => [...m.values()].flatMap((s) => [...s.values()]));
    const requestsName = `${prefix}http_requests_total`;
    const durationName = `${prefix}http_request_duration_seconds`;
    this.register({
      name: requestsName,
      help: 'HTTP requests by route and status',
      type: 'counter',
      values: () => all().map((s) => ({ labels: s.labels, value: s.count })),
    });
    this.register({
      name: durationName,
      help: 'HTTP request duration by route and status',
      type: 'histogram',
      values: () =>
        all().flatMap((s) => {
          const out: ExportedValue[] = [];
          let cumulative = 0;
          for (let i = 0; i < BUCKETS.length; i++) {
            cumulative += s.buckets[i]!;
            out.push({
              labels: { ...s.labels, le: BUCKETS[i]! },
              value: cumulative,
              metricName: `${durationName}_bucket`,
            });
          }
          out.push(
            { labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${durationName}_bucket` },
            { labels: s.labels, value: s.sum, metricName: `${durationName}_sum` },
            { labels: s.labels, value: s.count, metricName: `${durationName}_count` },
          );
          return out;
        }),
    });
  }

  /** A metric prom-client renders from values this class keeps (the shape its own metrics return). */
  private register(spec: {
    name: string;
    help: string;
    type: 'counter' | 'histogram';
    values: () => ExportedValue[];
  }): void {
    const metric = {
      name: spec.name,
      help: spec.help,
      type: spec.type,
      aggregator: 'sum',
      get: async () => ({
        name: spec.name,
        help: spec.help,
        type: spec.type,
        aggregator: 'sum',
        values: spec.values(),
      }),
      reset: () => this.series.clear(),
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One finished request; `route` is the route template, never the raw path (ids would make unbounded label sets). */
  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.series.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.series.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let s = byStatus.get(status);
    if (s === undefined) {
      s = {
        labels: { method, route, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Float64Array(BUCKETS.length + 1),
      };
      byStatus.set(status, s);
    }
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i] = s.buckets[i]! + 1;
    s.count++;
    s.sum += seconds;
  }

  /** A gauge whose value is read at scrape time. */
  gauge(name: string, help: string, collect: () => Promise<number> | number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await collect());
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
