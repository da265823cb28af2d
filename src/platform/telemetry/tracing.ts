/**
 * Optional OTLP/HTTP traces (`WARDEN_OTLP_ENDPOINT`): one server span per request, continuing the
 * caller's W3C `traceparent` when there is one. Built on the OpenTelemetry SDK; off by default, and
 * when off nothing here runs on the request path.
 */
import { context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';

export interface Tracing {
  // biome-ignore lint/suspicious/noExplicitAny: any server/logger/type-provider generics; only hooks are used.
  instrument(app: FastifyInstance<any, any, any, any, any>): void;
  shutdown(): Promise<void>;
}

/**
 * @example
 *   const tracing = startTracing('http://127.0.0.1:4318', '0.1.0');
 *   tracing.instrument(app);
 */
export function startTracing(endpoint: string, version: string): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'warden', 'service.version': version }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces`, timeoutMillis: 5000 }),
        {
          scheduledDelayMillis: 1000,
          maxQueueSize: 4096,
        },
      ),
    ],
  });
  const tracer = provider.getTracer('warden', version);
  const propagator = new W3CTraceContextPropagator();
  const spans = new WeakMap<object, Span>();

  return {
    instrument(app) {
      app.addHook('onRequest', async (request) => {
        const parent = propagator.extract(context.active(), request.headers, {
          get: (carrier, key) => (carrier as Record<string, string | string[] | undefined>)[key],
          keys: (carrier) => Object.keys(carrier as object),
        });
        const span = tracer.startSpan(
          `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': request.method,
              'http.route': request.routeOptions.url ?? 'unmatched',
              'warden.request_id': String(request.id),
            },
          },
          parent,
        );
        spans.set(request, span);
      });
      app.addHook('onResponse', async (request, reply) => {
        const span = spans.get(request);
        if (!span) return;
        span.setAttribute('http.response.status_code', reply.statusCode);
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
