/**
 * The HTTP edge every module's routes sit behind (Fastify 5 + TypeBox).
 *
 * Order of a request: request id and security headers → CORS → load shedding (in-flight cap,
 * event-loop delay) → authentication (every `/v1/…` route) → permission check (every `/v1/…` route
 * declares one) → per-principal rate limit (token bucket on Counters) → schema validation (a signed
 * agent request is authenticated here, once its body is read) → handler → problem+json for any
 * error → metrics and a log line.
 */

import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
  type onRequestHookHandler,
  type preValidationHookHandler,
} from 'fastify';
import type { Logger } from 'pino';
import secureJson from 'secure-json-parse';
import { Type } from 'typebox';
import { fastRequestLine } from '../telemetry/logger.js';
import { AdmissionControl } from './admission.js';
import type { Authenticator, Authorizer, AuthResult, Principal } from './auth.js';
import type { HttpMetrics } from './metrics.js';
import { ProblemError, ProblemSchema, Problems, problemCatalogue } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    /** The matched route template (`/v1/tenants/:id`), or `unmatched`. */
    route: string;
    /** The JSON body's exact bytes (signature and digest checks need them). */
    rawBody: Buffer | undefined;
    /** A signed request: authenticated after its body is read (Content-Digest covers it). */
    deferredAuth: boolean;
  }
  interface FastifyContextConfig {
    /** The permission a `/v1/…` route needs, e.g. `tenants:create`. Required on every /v1 route. */
    permission?: string;
    /** Skip authentication (health, docs, login). */
    public?: boolean;
    /** Apply Idempotency-Key handling (creates). */
    idempotent?: boolean;
  }
}

export type Edge = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

export type SignatureAuthenticator = (
  request: FastifyRequest,
  rawBody: Buffer | undefined,
) => Promise<AuthResult>;

export interface TokenBucketResult {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface RateLimiter {
  takeToken(
    key: string,
    options: { capacity: number; refillPerSecond: number; cost?: number },
  ): Promise<TokenBucketResult>;
  /** The same, answered synchronously, when the limiter can (in-process counters). */
  takeTokenNow?(
    key: string,
    options: { capacity: number; refillPerSecond: number; cost?: number },
  ): TokenBucketResult;
}

export interface EdgeOptions {
  logger: Logger;
  bodyLimitBytes: number;
  trustProxy: boolean;
  corsOrigins: string[];
  authenticators: () => Authenticator[];
  /**
   * Authenticates requests signed with HTTP Message Signatures (agents). It runs after the body is
   * read, because the signature covers the body's Content-Digest.
   */
  signatureAuthenticator?: (() => SignatureAuthenticator | undefined) | undefined;
  authorize: () => Authorizer;
  rateLimit?: { limiter: RateLimiter; perSecond: number; burst: number } | undefined;
  maxInFlight: number;
  /** Event-loop delay (p90, ms) adaptive admission aims for (admission.ts); 0 = off. */
  admissionTargetMs?: number | undefined;
  maxEventLoopDelayMs: number;
  metrics: HttpMetrics;
  version: string;
  /** Extra readiness checks, by name. */
  readiness: () => Record<string, () => Promise<void>>;
}

/**
 * Security headers on every response: the set a JSON API needs (OWASP REST guidance). The CSP
 * forbids everything because the API serves data, not pages; pages that need more (the /docs UI)
 * set their own policy, which replaces this one. Browser-page headers (COOP, referrer policy…)
 * are left to the pages that need them: every header here is parsed by every API client.
 */
const SECURITY_HEADERS = Object.freeze({
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
});

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Marks the edge's own route-level hooks, so a route's options never carry two of them. */
const EDGE_HOOK = Symbol('warden.edgeHook');
/** How often load shedding reads the event loop's delay and adjusts admission. */
const ADMISSION_WINDOW_MS = 250;

/** In a promise callback of a callback-style hook: a throw goes to Fastify, not to an unhandled rejection. */
function guard(done: HookHandlerDoneFunction, step: () => void): void {
  try {
    step();
  } catch (err) {
    done(err as Error);
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** `/health/live` (with a query or a trailing slash too): never shed. */
function isLiveness(url: string): boolean {
  return url.startsWith('/health/live') && (url.length === 12 || url[12] === '?' || url[12] === '/');
}

export function sendProblem(reply: FastifyReply, err: ProblemError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).type('application/problem+json').send(err.body(reply.request.id));
}

/** A reference to the shared problem schema for route `response` maps. */
export const ProblemRef = Type.Unsafe<Record<string, unknown>>({ $ref: 'Problem#' });

/**
 * Response entries for the errors a route can return.
 *
 * @example
 *   schema: { response: { 201: Tenant, ...errorResponses(400, 401, 403, 409) } }
 */
export function errorResponses(...statuses: number[]): Record<number, typeof ProblemRef> {
  const out: Record<number, typeof ProblemRef> = {};
  for (const s of new Set([...statuses, 500])) out[s] = ProblemRef;
  return out;
}

/** Fastify's own errors mapped to our problem types. */
function toProblem(err: FastifyError & { validation?: unknown[]; validationContext?: string }): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err.validation) {
    const errors = (
      err.validation as { instancePath?: string; message?: string; params?: Record<string, unknown> }[]
    ).map((v) => {
      const missing = v.params?.missingProperty as string | undefined;
      const extra = v.params?.additionalProperty as string | undefined;
      const path = `${v.instancePath ?? ''}${missing ? `/${missing}` : ''}${extra ? `/${extra}` : ''}`;
      const field = `${err.validationContext ?? 'body'}${path ? path.replace(/^\//, '.').replaceAll('/', '.') : ''}`;
      const message = extra
        ? `unknown property ${JSON.stringify(extra)} is not allowed`
        : (v.message ?? 'is invalid');
      return { field, message };
    });
    const first = errors[0] ?? { field: err.validationContext ?? 'body', message: err.message };
    return Problems.validation.create(`${first.field} ${first.message}`, { field: first.field, errors });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Problems.payloadTooLarge.create(err.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return Problems.unsupportedMediaType.create(`${err.message}; send application/json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Problems.malformedJson.create(
        'the body is empty but Content-Type says JSON; send a JSON document',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return Problems.malformedJson.create(`the body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return Problems.validation.create('Content-Length does not match the body');
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return Problems.malformedJson.create(`the body is not valid JSON: ${err.message}`);
  }
  if (err.statusCode === 413) return Problems.payloadTooLarge.create(err.message);
  if (err.statusCode === 415) return Problems.unsupportedMediaType.create(err.message);
  if (err.statusCode === 503)
    return Problems.unavailable.create('the server is shutting down or unavailable; retry shortly');
  return Problems.internal.create(
    'an internal error occurred; the request id in `instance` locates it in the server log',
  );
}

/**
 * Build the edge. Modules register their routes on the returned instance.
 *
 * @example
 *   const app = await createEdge(options);
 *   app.get('/v1/things', { config: { permission: 'things:read' }, schema }, handler);
 */
export async function createEdge(options: EdgeOptions): Promise<Edge> {
  const app = Fastify({
    loggerInstance: options.logger,
    // One log line per request is written in onResponse with the fields we choose.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      // randomUUID draws from a pooled entropy buffer: ~4x cheaper per request than a UUIDv7.
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    connectionTimeout: 30_000,
    requestTimeout: 60_000,
    keepAliveTimeout: 72_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Edge;

  // Two validators: query strings, params and headers arrive as text and are coerced to their
  // declared types; JSON bodies are typed already, so a body's 42 must not pass as "42".
  const makeAjv = (coerce: boolean) => {
    const ajv = new Ajv({
      removeAdditional: false,
      coerceTypes: coerce ? 'array' : false,
      useDefaults: true,
      allErrors: true,
      strict: false,
    });
    (addFormatsPlugin as unknown as (a: Ajv) => void)(ajv);
    return ajv;
  };
  const strictAjv = makeAjv(false);
  const coercingAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
    for (const shared of Object.values(app.getSchemas()) as { $id?: string }[]) {
      if (shared.$id && !ajv.getSchema(shared.$id)) ajv.addSchema(shared);
    }
    return ajv.compile(schema) as ReturnType<Parameters<typeof app.setValidatorCompiler>[0]>;
  });
  // JSON only: a text/plain body is refused with 415 rather than parsed into a string.
  app.removeContentTypeParser('text/plain');
  // JSON, keeping the exact bytes for signature checks; prototype poisoning refused as Fastify does.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) {
      done(
        Problems.malformedJson.create('the body is empty but Content-Type says JSON; send a JSON document'),
        undefined,
      );
      return;
    }
    try {
      done(
        null,
        secureJson.parse(raw.toString('utf8'), undefined, {
          protoAction: 'error',
          constructorAction: 'error',
        }),
      );
    } catch (err) {
      done(Problems.malformedJson.create(`the body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.decorateRequest('principal', undefined);
  // Replaced by the route's template in its route-level hook; stays so for 404s.
  app.decorateRequest('route', 'unmatched');
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('deferredAuth', false);
  app.addSchema(ProblemSchema);

  // Event-loop delay, sampled every 10 ms and read per window (admission.ts says why this, and
  // not the count of requests in flight, is what shows a node past its knee). Per window:
  //  - above the admission target, the adaptive control admits a smaller share of new requests
  //    (the rest get 503 + Retry-After at once), and a larger one again once back within it;
  //  - above `maxEventLoopDelayMs`, the loop is saturated and every new request is shed.
  // Percentiles, not the maximum: one long stall (start-up compiling, a GC) is a single sample and
  // must not shed the next window.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let loopSaturated = false;
  const admission =
    (options.admissionTargetMs ?? 0) > 0
      ? new AdmissionControl({ targetMs: options.admissionTargetMs! })
      : undefined;
  const loopTimer = setInterval(() => {
    const p90 = loopDelay.percentile(90) / 1e6;
    loopSaturated = options.maxEventLoopDelayMs > 0 && p90 > options.maxEventLoopDelayMs;
    admission?.adjust(p90);
    loopDelay.reset();
  }, ADMISSION_WINDOW_MS);
  loopTimer.unref();
  // Start-up work before listening is not overload.
  app.addHook('onListen', (done) => {
    loopDelay.reset();
    loopSaturated = false;
    if (admission) admission.share = 1;
    done();
  });
  app.addHook('onClose', async () => {
    clearInterval(loopTimer);
    loopDelay.disable();
  });

  let inFlight = 0;
  let shedInWindow = 0;
  /**
   * Load shedding: under overload a 503 costs little, running out of memory costs everything.
   * Returns why this request is refused, or undefined to admit it.
   */
  function shedding(): string | undefined {
    if (options.maxInFlight > 0 && inFlight > options.maxInFlight)
      return `more than ${options.maxInFlight} requests in flight on this node`;
    if (loopSaturated) return 'the event loop is saturated on this node';
    if (admission && !admission.admit())
      return `this node is past its capacity and admits ${Math.round(admission.share * 100)} % of new requests`;
    return undefined;
  }
  /**
   * The 503 itself, as cheap as it can be: under overload most requests end here, and what they cost
   * is taken from the admitted ones. Written straight to the socket (no serializer, no hooks, no
   * per-request log line: one summary per window instead), with the security headers, the request
   * id, Retry-After and the problem body every other error has.
   */
  function shedNow(request: FastifyRequest, reply: FastifyReply, detail: string): void {
    inFlight--;
    shedInWindow++;
    const body = Buffer.from(
      JSON.stringify({ ...Problems.overloaded.create(detail, { retry_after: 1 }).body(request.id) }),
    );
    reply.hijack();
    reply.raw.writeHead(503, {
      ...SECURITY_HEADERS,
      'x-request-id': request.id,
      'retry-after': '1',
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': body.length,
    });
    reply.raw.end(body);
    options.metrics.observe(request.method, 'shed', 503, 0);
  }
  const shedLog = setInterval(() => {
    if (shedInWindow === 0) return;
    options.logger.warn(
      { shed: shedInWindow, admitted_share: admission?.share ?? 1, loop_saturated: loopSaturated },
      'shedding load: requests answered 503 overloaded',
    );
    shedInWindow = 0;
  }, 1000);
  shedLog.unref();
  app.addHook('onClose', async () => clearInterval(shedLog));

  // The edge's hooks are callback-style and synchronous unless an authenticator or the rate limiter
  // really waits: an async hook costs a promise and a microtask turn per request even when nothing
  // is awaited, and this is the path every request takes. (Measured together with the route-level
  // hooks below and the synchronous limiter: a few µs of the edge's 76 → 60 µs CPU a request under
  // load, bench/RESULTS.md; too small to separate from this machine's noise on their own.)
  //
  // Every response, matched or not (404, CORS preflight), gets the security headers, its request
  // id and the in-flight count; this hook is added before any other so that it always runs first.
  app.addHook('onRequest', (request, reply, done) => {
    inFlight++;
    // Liveness is never shed: an orchestrator must not restart a node for being busy.
    const reason = isLiveness(request.url) ? undefined : shedding();
    if (reason !== undefined) {
      shedNow(request, reply, reason);
      return;
    }
    // Hand-written rather than @fastify/helmet: these headers are constant, and setting them from one
    // frozen table costs a fraction of helmet's one-middleware-per-header (measured: bench/RESULTS.md).
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    done();
  });

  // What depends on the route (its template for metrics and logs, whether it is shed, authenticated,
  // which permission it needs) is decided once, when the route is registered, and bound into a
  // route-level hook: reading `request.routeOptions` builds a fresh object on every access.
  // Every /v1 route must say which permission it needs: a route that forgets is a start-up error,
  // not an open door.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const config = route.config;
    const guarded = url.startsWith('/v1/') && !config?.public;
    if (guarded && !config?.permission) {
      throw new Error(`route ${route.method} ${route.url} declares no permission`);
    }
    const hooks = {
      onRequest: routeRequestHook(url, guarded, config?.permission),
      // Without a signature authenticator there is no deferred authentication, and no hook to run.
      preValidation:
        guarded && options.signatureAuthenticator ? routeSignatureHook(config?.permission) : undefined,
    };
    for (const name of ['onRequest', 'preValidation'] as const) {
      const hook = hooks[name];
      if (!hook) continue;
      // A fresh array, never a push: Fastify copies a GET route's options for its HEAD twin.
      const existing = route[name] as unknown;
      const others = (Array.isArray(existing) ? existing : existing ? [existing] : []).filter(
        (h) => !(h as { [EDGE_HOOK]?: true })[EDGE_HOOK],
      );
      (route as unknown as Record<string, unknown>)[name] = [hook, ...others];
    }
  });

  function routeRequestHook(
    url: string,
    guarded: boolean,
    permission: string | undefined,
  ): onRequestHookHandler & { [EDGE_HOOK]: true } {
    // The route template, not the raw URL: a CORS preflight to /v1/… is the '*' route and public.
    const hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      request.route = url;
      if (!guarded) {
        done();
        return;
      }
      // A signed request without a bearer credential is an agent's: verified once its body is read.
      if (
        request.headers['signature-input'] !== undefined &&
        request.headers.authorization === undefined &&
        options.signatureAuthenticator?.()
      ) {
        request.deferredAuth = true;
        done();
        return;
      }
      const result = authenticate(request, options.authenticators(), 0);
      if (isPromise(result)) {
        result.then((r) => guard(done, () => afterAuthentication(request, reply, r, permission, done)), done);
      } else {
        afterAuthentication(request, reply, result, permission, done);
      }
    };
    return Object.assign(hook, { [EDGE_HOOK]: true as const });
  }

  /** The first authenticator that recognises the credential decides; promises only when one waits. */
  function authenticate(
    request: FastifyRequest,
    authenticators: Authenticator[],
    from: number,
  ): AuthResult | Promise<AuthResult> {
    for (let i = from; i < authenticators.length; i++) {
      const result = authenticators[i]!(request);
      if (isPromise(result)) {
        return result.then((r) => (r ? r : authenticate(request, authenticators, i + 1)));
      }
      if (result) return result;
    }
    return null;
  }

  function afterAuthentication(
    request: FastifyRequest,
    reply: FastifyReply,
    result: AuthResult,
    permission: string | undefined,
    done: HookHandlerDoneFunction,
  ): void {
    if (result && 'reject' in result) {
      unauthenticated(reply, result.reject, true, result.problem);
      return;
    }
    if (!result) {
      unauthenticated(
        reply,
        'this route needs a credential: Authorization: Bearer <token>, or an agent signature',
        false,
      );
      return;
    }
    admit(request, reply, result.principal, permission, done);
  }

  function routeSignatureHook(
    permission: string | undefined,
  ): preValidationHookHandler & { [EDGE_HOOK]: true } {
    const hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      if (!request.deferredAuth) {
        done();
        return;
      }
      const verify = options.signatureAuthenticator?.();
      if (!verify) {
        unauthenticated(reply, 'the request signature was not recognised', true);
        return;
      }
      verify(request, request.rawBody).then(
        (result) =>
          guard(done, () => {
            if (!result) unauthenticated(reply, 'the request signature was not recognised', true);
            else if ('reject' in result) unauthenticated(reply, result.reject, true, result.problem);
            else admit(request, reply, result.principal, permission, done);
          }),
        done,
      );
    };
    return Object.assign(hook, { [EDGE_HOOK]: true as const });
  }

  function unauthenticated(reply: FastifyReply, detail: string, invalid: boolean, problem?: ProblemError) {
    reply.header('www-authenticate', `Bearer realm="warden"${invalid ? ', error="invalid_token"' : ''}`);
    return sendProblem(reply, problem ?? Problems.unauthenticated.create(detail));
  }

  const rl = options.rateLimit && options.rateLimit.perSecond > 0 ? options.rateLimit : undefined;
  const bucketOptions = rl ? { capacity: rl.burst, refillPerSecond: rl.perSecond } : undefined;

  /** After authentication: the route's permission, then the caller's rate limit; `done` when admitted. */
  function admit(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    permission: string | undefined,
    done: HookHandlerDoneFunction,
  ): void {
    request.principal = principal;
    // Authorization right after authentication: a bearer caller without the permission is refused
    // before its body is even parsed.
    if (permission && !options.authorize()(principal, permission)) {
      sendProblem(reply, Problems.forbidden.create(`this operation needs the permission ${permission}`));
      return;
    }
    if (!rl || !bucketOptions) {
      done();
      return;
    }
    const key = `rl:${principal.kind}:${principal.id}`;
    // The in-process limiter answers synchronously (no promise, no microtask); Redis is awaited.
    if (rl.limiter.takeTokenNow) {
      let bucket: TokenBucketResult;
      try {
        bucket = rl.limiter.takeTokenNow(key, bucketOptions);
      } catch (err) {
        limiterFailed(request, reply, err);
        return;
      }
      limited(reply, bucket, done);
      return;
    }
    rl.limiter.takeToken(key, bucketOptions).then(
      (bucket) => guard(done, () => limited(reply, bucket, done)),
      (err: unknown) => guard(done, () => limiterFailed(request, reply, err)),
    );
  }

  function limiterFailed(request: FastifyRequest, reply: FastifyReply, err: unknown): void {
    // Fail closed: without the counters we cannot tell whether this caller is over its limit.
    request.log.error({ err }, 'rate limiter unavailable');
    sendProblem(
      reply,
      Problems.unavailable.create('the rate limiter is unavailable; retry shortly', {
        retry_after: 1,
        headers: { 'retry-after': '1' },
      }),
    );
  }

  function limited(reply: FastifyReply, bucket: TokenBucketResult, done: HookHandlerDoneFunction): void {
    reply.header('ratelimit-remaining', String(Math.max(0, Math.floor(bucket.remaining))));
    if (bucket.allowed) {
      done();
      return;
    }
    const seconds = Math.max(1, Math.ceil(bucket.retryAfterMs / 1000));
    sendProblem(
      reply,
      Problems.rateLimited.create(
        `rate limit of ${rl!.perSecond} requests/s exceeded; retry in ${seconds}s`,
        {
          retry_after: seconds,
          headers: { 'retry-after': String(seconds) },
        },
      ),
    );
  }

  // Without configured origins there is no CORS at all (same-origin only), and no hook to run.
  if (options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: options.corsOrigins,
      credentials: true,
      exposedHeaders: ['x-request-id', 'retry-after', 'etag', 'location', 'ratelimit-remaining'],
    });
  }

  // One log line per request; for the production logger built by hand (see fastRequestLine).
  const requestLine = fastRequestLine(options.logger);
  app.addHook('onResponse', (request, reply, done) => {
    inFlight--;
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    options.metrics.observe(request.method, request.route, status, elapsed / 1000);
    const log = request.log as Logger;
    const ms = Math.round(elapsed * 100) / 100;
    const principal = request.principal ? `${request.principal.kind}:${request.principal.id}` : undefined;
    if (status < 500 && requestLine) {
      if (log.isLevelEnabled('info')) {
        requestLine({
          requestId: request.id,
          method: request.method,
          route: request.route,
          status,
          ms,
          principal,
        });
      }
    } else {
      log[status >= 500 ? 'error' : 'info'](
        { method: request.method, route: request.route, status, ms, principal },
        'request',
      );
    }
    done();
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const problem = toProblem(err);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, Problems.notFound.create(`no route ${request.method} ${request.url.split('?')[0]}`));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Warden API',
        version: options.version,
        description:
          'The control plane for autonomous AI agents. Errors are RFC 9457 problem+json; follow an error `type` for its explanation.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Operator token, API key or session token' },
        },
      },
      security: [{ bearer: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) ?? `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  app.get('/problems/:slug', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const spec = problemCatalogue().find((p) => p.slug === slug);
    if (!spec) return sendProblem(reply, Problems.notFound.create(`no problem type ${slug}`));
    return {
      type: `/problems/${spec.slug}`,
      title: spec.title,
      status: spec.status,
      description: spec.description,
    };
  });

  app.get('/health/live', { config: { public: true }, schema: { hide: true } }, async () => ({
    status: 'ok',
  }));

  app.get('/health/ready', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, { ok: boolean; ms: number; error?: string }> = {};
    await Promise.all(
      Object.entries(options.readiness()).map(async ([name, check]) => {
        const t0 = performance.now();
        try {
          await withTimeout(check(), 2000, `${name} did not answer within 2s`);
          checks[name] = { ok: true, ms: Math.round(performance.now() - t0) };
        } catch (err) {
          checks[name] = { ok: false, ms: Math.round(performance.now() - t0), error: (err as Error).message };
        }
      }),
    );
    const ok = Object.values(checks).every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
  });

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    reply.type(options.metrics.contentType);
    return options.metrics.render();
  });

  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
