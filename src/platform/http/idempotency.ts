/**
 * `Idempotency-Key` on creates: a retried request with the same key and the same body gets the
 * first response again (with `Idempotent-Replayed: true`) instead of creating a second object.
 *
 * - Same key, different request → 422 `idempotency-key-reused`.
 * - Same key while the first is still running → 409 `idempotency-key-in-progress`.
 * - A 5xx is not remembered (the key is released so the retry runs); 2xx and 4xx are.
 * - Keys are per principal and kept 24 hours (a job purges older ones).
 * A node crash between the create and the record leaves a pending key that is taken over after
 * `staleAfterMs`; the create itself is then retried, which the module's own uniqueness rules
 * (e.g. tenant names) guard.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import type { Edge } from './edge.js';
import { sendProblem } from './edge.js';
import { Problems } from './problem.js';

const KEY_RE = /^[A-Za-z0-9._:-]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | undefined;
  }
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(request.method)
    .update('\n')
    .update(request.url)
    .update('\n')
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
}

export function registerIdempotency(app: Edge, db: Database, options: { staleAfterMs?: number } = {}): void {
  const staleSeconds = (options.staleAfterMs ?? 60_000) / 1000;
  app.decorateRequest('idempotency', undefined);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.routeOptions.config?.idempotent || !request.principal) return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    if (typeof header !== 'string' || !KEY_RE.test(header)) {
      return sendProblem(
        reply,
        Problems.validation.create(
          'Idempotency-Key must be 1 to 255 characters of letters, digits, . _ : -',
          {
            field: 'header.idempotency-key',
          },
        ),
      );
    }
    const principal = `${request.principal.kind}:${request.principal.id}`;
    const hash = requestHash(request);
    const claimed = await sql`insert into platform.idempotency_keys (principal, key, request_hash, status)
      values (${principal}, ${header}, ${hash}, 'pending')
      on conflict (principal, key) do update set request_hash = excluded.request_hash, created_at = now()
        where platform.idempotency_keys.status = 'pending'
          and platform.idempotency_keys.created_at < now() - make_interval(secs => ${staleSeconds}::double precision)
      returning key`.execute(db.kysely);
    if (claimed.rows.length > 0) {
      request.idempotency = { principal, key: header };
      return;
    }
    const existing = await sql<{
      request_hash: string;
      status: string;
      response_status: number | null;
      response_body: unknown;
    }>`select request_hash, status, response_status, response_body from platform.idempotency_keys
       where principal = ${principal} and key = ${header}`.execute(db.kysely);
    const row = existing.rows[0];
    if (!row || row.status === 'pending') {
      return sendProblem(
        reply,
        Problems.idempotencyInProgress.create(`a request with Idempotency-Key ${header} is still running`),
      );
    }
    if (row.request_hash !== hash) {
      return sendProblem(
        reply,
        Problems.idempotencyConflict.create(`Idempotency-Key ${header} was used for a different request`, {
          field: 'header.idempotency-key',
        }),
      );
    }
    reply.header('idempotent-replayed', 'true');
    const body = row.response_body as Record<string, unknown> | null;
    if (row.response_status && row.response_status >= 400) reply.type('application/problem+json');
    return reply.code(row.response_status ?? 200).send(body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const idem = request.idempotency;
    if (!idem) return payload;
    request.idempotency = undefined;
    const status = reply.statusCode;
    if (status >= 500 || status === 409 || status === 429) {
      await sql`delete from platform.idempotency_keys where principal = ${idem.principal} and key = ${idem.key}
                and status = 'pending'`.execute(db.kysely);
      return payload;
    }
    let body: string | null = null;
    if (typeof payload === 'string') body = payload;
    else if (Buffer.isBuffer(payload)) body = payload.toString('utf8');
    await sql`update platform.idempotency_keys set status = 'done', response_status = ${status},
              response_body = ${body}::jsonb where principal = ${idem.principal} and key = ${idem.key}`.execute(
      db.kysely,
    );
    return payload;
  });
}

/** Removes keys older than a day: run by a recurring job. */
export async function purgeIdempotencyKeys(db: Database): Promise<number> {
  const res =
    await sql`delete from platform.idempotency_keys where created_at < now() - interval '1 day'`.execute(
      db.kysely,
    );
  return Number(res.numAffectedRows ?? 0);
}
