/**
 * The worker side of `PGliteThread`: owns the PGlite instance and runs one statement at a time.
 * Each client (the starting thread on the worker's port, others on attached MessagePorts) is
 * answered in its own order; PGlite being a single connection, the client whose statement runs
 * holds it until it says `release`, and the others' statements wait (a transaction is never
 * interleaved with another client's statements). A client whose port closes while holding the
 * connection has its open transaction rolled back and loses the hold. Replies carry the result, or
 * the error's PostgreSQL fields.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import {
  PGLITE_PARSERS,
  PGLITE_SERIALIZERS,
  type ThreadReply,
  type ThreadRequest,
} from './pglite-thread-protocol.js';

const port = parentPort!;
const { dataDir, template } = workerData as { dataDir: string | undefined; template: Blob | undefined };

/** PostgreSQL error fields worth carrying across the thread boundary (callers test `code`). */
const ERROR_FIELDS = [
  'code',
  'detail',
  'hint',
  'position',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'severity',
  'where',
] as const;

function describe(err: unknown): ThreadReply['error'] {
  const e = err as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const f of ERROR_FIELDS) if (e?.[f] !== undefined) fields[f] = e[f];
  return {
    name: err instanceof Error ? err.name : 'Error',
    message: err instanceof Error ? err.message : String(err),
    fields,
  };
}

let db: PGlite;
try {
  db = await PGlite.create(dataDir, {
    parsers: PGLITE_PARSERS,
    serializers: PGLITE_SERIALIZERS,
    ...(template ? { loadDataDir: template } : {}),
  });
  port.postMessage({ id: 0, result: 'ready' } satisfies ThreadReply);
} catch (err) {
  port.postMessage({ id: 0, error: describe(err) } satisfies ThreadReply);
  process.exit(1);
}

type Client = MessagePort | NonNullable<typeof parentPort>;

/** Waiting statements of every client, in arrival order. */
const queue: { client: Client; req: ThreadRequest }[] = [];
/** The client holding the connection (between its first statement and its `release`). */
let holder: Client | undefined;
let draining = false;

function receive(client: Client, req: ThreadRequest): void {
  if (req.kind === 'attach') {
    const attached = req.port;
    attached.on('message', (r: ThreadRequest) => receive(attached, r));
    attached.on('close', () => gone(attached));
    return;
  }
  queue.push({ client, req });
  if (!draining) void drain();
}

/** An attached client went away (its thread ended): drop its statements, end what it held. */
function gone(client: Client): void {
  for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.client === client) queue.splice(i, 1);
  if (holder !== client) return;
  queue.unshift({ client, req: { id: -1, kind: 'exec', sql: 'rollback' } });
  queue.splice(1, 0, { client, req: { id: -1, kind: 'release' } });
  if (!draining) void drain();
}

async function drain(): Promise<void> {
  draining = true;
  try {
    for (;;) {
      const at = holder ? queue.findIndex((q) => q.client === holder) : 0;
      if (at < 0 || queue.length === 0) return;
      const { client, req } = queue.splice(at, 1)[0]!;
      if (req.kind === 'release') {
        if (holder === client) holder = undefined;
        continue;
      }
      holder = client;
      let reply: ThreadReply;
      try {
        let result: unknown;
        if (req.kind === 'query') result = await db.query(req.sql, req.params, { rowMode: 'object' });
        else if (req.kind === 'exec') result = await db.exec(req.sql, { rowMode: 'object' });
        else {
          await db.close();
          result = 'closed';
        }
        reply = { id: req.id, result };
      } catch (err) {
        reply = { id: req.id, error: describe(err) };
      }
      if (req.id >= 0) client.postMessage(reply);
    }
  } finally {
    draining = false;
  }
}

port.on('message', (req: ThreadRequest) => receive(port, req));
