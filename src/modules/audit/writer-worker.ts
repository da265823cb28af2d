/**
 * The audit writer thread (see writer-thread.ts): an `AuditBuffer` with a database connection of
 * its own (a PostgreSQL pool, or a port to the embedded database's thread), fed by the thread that
 * accepts records. Records arrive already validated, with their ids and
 * timestamps; everything else — redaction, canonical bytes, leaf hashes, batched appends to the
 * per-tenant trees — happens here, off the event loop that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Database, openDatabase } from '../../platform/db/database.js';
import { AuditBuffer, RedactorCache } from './log-writer.js';
import { PreparePool } from './prepare-pool.js';
import { plainError, type ToWriter, type WriterData, type WriterReply } from './writer-protocol.js';

const port = parentPort!;
const data = workerData as WriterData;
const send = (reply: WriterReply) => port.postMessage(reply);
const log = {
  error: (obj: object, msg: string) => send({ t: 'log', level: 'error', obj: plainObject(obj), msg }),
  warn: (obj: object, msg: string) => send({ t: 'log', level: 'warn', obj: plainObject(obj), msg }),
};

function plainObject(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? plainError(v) : v;
  return out;
}

let db: Database;
let pool: PreparePool | undefined;
let buffer: AuditBuffer;
try {
  const link = data.link;
  db = await openDatabase(
    'url' in link ? { url: link.url, poolSize: link.poolSize } : { pglitePort: link.pglite },
  );
  await db.ping();
  pool = data.prepareWorkers > 0 ? new PreparePool(data.prepareWorkers) : undefined;
  buffer = new AuditBuffer({
    db,
    now: Date.now,
    redactors: new RedactorCache(Date.now),
    log,
    flushIntervalMs: data.flushIntervalMs,
    maxBatch: data.maxBatch,
    // The accepting thread bounds what it hands over (its `maxBuffered`); nothing is refused here.
    maxBuffered: Number.POSITIVE_INFINITY,
    pool,
    onCommitted: (records) => send({ t: 'committed', n: records }),
  });
  buffer.start();
} catch (err) {
  send({ t: 'init-failed', error: plainError(err) });
  port.close();
  throw err;
}

port.on('message', (m: ToWriter) => {
  switch (m.t) {
    case 'records': {
      let refused = 0;
      for (const [input, recordId, timestampMs, durableId] of m.items) {
        if (durableId === 0) {
          try {
            buffer.accept(input, recordId, timestampMs);
          } catch (err) {
            refused++;
            log.error({ err, record_id: recordId }, 'audit record refused by the writer thread');
          }
        } else {
          buffer.accept(input, recordId, timestampMs, true).then(
            (record) => send({ t: 'durable', id: durableId, ok: true, record }),
            (err) => send({ t: 'durable', id: durableId, ok: false, error: plainError(err) }),
          );
        }
      }
      // Refused records will never commit: the accepting thread stops counting them as held.
      if (refused > 0) send({ t: 'committed', n: refused });
      break;
    }
    case 'flush':
      buffer.flush().then(
        () => send({ t: 'done', id: m.id, ok: true }),
        (err) => send({ t: 'done', id: m.id, ok: false, error: plainError(err) }),
      );
      break;
    case 'invalidate':
      buffer.invalidate(m.tenantId);
      break;
    case 'stop':
      void (async () => {
        await buffer.stop();
        await pool?.close();
        await db.close();
        send({ t: 'done', id: m.id, ok: true });
        port.close();
      })();
      break;
  }
});
send({ t: 'ready' });
