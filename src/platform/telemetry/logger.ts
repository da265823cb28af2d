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
  let destination = options.destination;
  if (!destination) {
    // Batched writes (4 KiB) instead of one syscall per line: the request log is on every request's
    // path. A timer flushes what waits, so a quiet node's log is never more than half a second behind;
    // a crash may lose those lines, never an acknowledged write.
    const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), 500).unref();
    destination = stdout;
  }
  return pino(
    {
      level: options.level,
      base: { service: 'warden', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
