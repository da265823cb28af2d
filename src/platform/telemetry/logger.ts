/**
 * JSON logs (pino). Credentials never reach a log line: the known header and field names are
 * redacted wherever they appear, and URLs are logged without their query strings.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers.signature',
  'res.headers["set-cookie"]',
  '*.password',
  '*.owner_password',
  '*.token',
  '*.api_key',
  '*.secret',
  '*.adminToken',
  '*.masterKey',
  '*.privateKey',
  'config.databaseUrl',
  'config.redisUrl',
];

/**
 * @example
 *   const log = createLogger({ level: 'info' });
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  const destination = options.destination ?? batchedDestination(1);
  const base = { service: 'warden', pid: process.pid };
  const logger = pino(
    {
      level: options.level,
      base,
      timestamp: cachedIsoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  skipRedactionOfScalars(logger);
  requestLines.set(logger, requestLineWriter(destination, base));
  return logger;
}

/** The fields of the edge's one line per request. */
export interface RequestLine {
  requestId: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  principal: string | undefined;
}

export type RequestLineWriter = (line: RequestLine) => void;

const requestLines = new WeakMap<Logger, RequestLineWriter>();

/**
 * A writer for the edge's per-request `info` line that builds the JSON by hand, for loggers made
 * by `createLogger` (undefined for any other logger: the edge then logs through pino).
 *
 * Why: the line is written for every request and its fields are fixed — request id, method, route
 * template, status, duration, principal — none of which can hold a secret, so redaction has
 * nothing to do there; pino's generic path (key loop, per-value stringifiers, line assembly) cost
 * ~1.5 µs more a request than this (measured). The output is the line pino writes for
 * `request.log.info({ method, route, status, ms, principal }, 'request')` (a test compares them).
 * The caller checks the level (`request.log.isLevelEnabled('info')`): a route may log at its own.
 *
 * @example
 *   fastRequestLine(log)?.({ requestId, method: 'GET', route: '/v1/x', status: 200, ms: 1.2, principal: undefined });
 */
export function fastRequestLine(logger: Logger): RequestLineWriter | undefined {
  return requestLines.get(logger);
}

function requestLineWriter(
  destination: pino.DestinationStream,
  base: Record<string, unknown>,
): RequestLineWriter {
  let bindings = '';
  for (const [k, v] of Object.entries(base)) bindings += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  return (line) => {
    destination.write(
      `{"level":"info"${cachedIsoTime()}${bindings},"request_id":${JSON.stringify(line.requestId)},"method":${JSON.stringify(line.method)},"route":${JSON.stringify(line.route)},"status":${line.status},"ms":${line.ms}${line.principal === undefined ? '' : `,"principal":${JSON.stringify(line.principal)}`},"msg":"request"}\n`,
    );
  };
}

const CENSOR = '[REDACTED]';

/** Lines gathered before one write; a threshold, not a cap (counted in UTF-16 units). */
const BATCH_CHARS = 32 * 1024;

/**
 * A log destination that writes in batches of ~32 KiB instead of one syscall per line: the request
 * log is on every request's path. Lines are gathered here and handed to an asynchronous sonic-boom
 * as one string. sonic-boom's own batching (`minLength`) measures its whole pending buffer with
 * `Buffer.byteLength` on every line and hands each 4 KiB to the libuv thread pool: 3.4–3.8 µs a
 * request line against 2.1–2.2 µs here (CPU time, thread pool included; measured). A timer writes
 * what waits, so a quiet node's log is never more than half a second behind; a crash may lose those
 * lines, never an acknowledged write.
 *
 * @example
 *   const log = createLogger({ level: 'info', destination: batchedDestination('/var/log/warden.log') });
 */
export function batchedDestination(dest: number | string): BatchedDestination {
  const out = new BatchedDestination(pino.destination({ dest, sync: false }));
  setInterval(() => out.flush(), 500).unref();
  return out;
}

export class BatchedDestination implements pino.DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) this.drain();
  }

  /** Hand what waits to the file descriptor. */
  flush(done?: (err?: Error) => void): void {
    this.drain();
    this.out.flush(done);
  }

  /** Write what waits synchronously (process exit). */
  flushSync(): void {
    this.drain();
    this.out.flushSync();
  }

  private drain(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(batch);
  }
}

let lastMs = -1;
let lastTime = '';
/**
 * pino's isoTime, formatting the date once per millisecond: a busy node writes dozens of lines a
 * millisecond and `toISOString()` cost ~0.5 µs a line (measured). Same output, byte for byte.
 */
function cachedIsoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * The `*.x` redaction paths make pino run its generic redactor (clone, parse every path, restore)
 * on every top-level value of every line and every child binding, strings and numbers included:
 * ~1.5 µs a value, ~8 µs for the edge's request line and ~0.9 µs for each request's child logger
 * (measured, pino 10.4 / @pinojs/redact 0.4). A path `*.x` can only ever match inside an object,
 * so strings, numbers and booleans are stringified directly and everything else still goes through pino's redactor: the same output.
 * It reaches into pino's stringifier table (exported as `pino.symbols`); if a pino upgrade changes
 * that table or the probe below fails, the logger is left as pino built it — slower, never leakier.
 */
function skipRedactionOfScalars(logger: Logger): void {
  const symbols = pino.symbols as unknown as Record<string, symbol>;
  const stringifiersSym = symbols.stringifiersSym;
  const wildcardSym = symbols.wildcardFirstSym;
  if (!stringifiersSym || !wildcardSym) return;
  const stringifiers = (logger as unknown as Record<symbol, Record<symbol, unknown>>)[stringifiersSym];
  if (!stringifiers) return;
  const redactObject = stringifiers[wildcardSym];
  if (typeof redactObject !== 'function') return;
  const redact = redactObject as (value: unknown) => unknown;
  const fast = (value: unknown): unknown => {
    const t = typeof value;
    return t === 'string' || t === 'number' || t === 'boolean' ? JSON.stringify(value) : redact(value);
  };
  // The replacement must still censor what pino censors and print scalars as pino does.
  const probe = fast({ password: 'probe-secret', name: 'n' });
  if (typeof probe !== 'string' || probe.includes('probe-secret') || !probe.includes(CENSOR)) return;
  if (fast('a"b') !== '"a\\"b"' || fast(1.5) !== '1.5' || fast(true) !== 'true') return;
  stringifiers[wildcardSym] = fast;
}
