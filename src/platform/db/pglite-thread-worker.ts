/**
 * The worker side of `PGliteThread`: owns the PGlite instance and runs one statement per message,
 * in arrival order (the main side serialises connections, so a transaction's statements arrive
 * together). Replies carry the result, or the error's PostgreSQL fields.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_PARSERS, type ThreadReply, type ThreadRequest } from './pglite-thread-protocol.js';

const port = parentPort!;
const { dataDir } = workerData as { dataDir: string | undefined };

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
  db = await PGlite.create(dataDir, { parsers: PGLITE_PARSERS });
  port.postMessage({ id: 0, result: 'ready' } satisfies ThreadReply);
} catch (err) {
  port.postMessage({ id: 0, error: describe(err) } satisfies ThreadReply);
  process.exit(1);
}

// Messages are handled strictly one after another: PGlite is a single connection.
let chain: Promise<void> = Promise.resolve();
port.on('message', (req: ThreadRequest) => {
  chain = chain.then(async () => {
    try {
      let result: unknown;
      if (req.kind === 'query') result = await db.query(req.sql, req.params, { rowMode: 'object' });
      else if (req.kind === 'exec') result = await db.exec(req.sql, { rowMode: 'object' });
      else {
        await db.close();
        result = 'closed';
      }
      port.postMessage({ id: req.id, result } satisfies ThreadReply);
    } catch (err) {
      port.postMessage({ id: req.id, error: describe(err) } satisfies ThreadReply);
    }
  });
});
