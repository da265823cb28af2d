/**
 * Durable jobs and timers in PostgreSQL: delayed and recurring, at least once, surviving restarts.
 *
 * A worker claims due jobs with `FOR UPDATE SKIP LOCKED` and leases them (`locked_until`); a node
 * that dies mid-job leaves a lease that expires, and another node runs the job again. Failures
 * retry with exponential backoff until `max_attempts`, then the job is `dead` and kept for
 * inspection. Recurring schedules (`every 30s` or a cron expression) enqueue one job per
 * occurrence, de-duplicated by a unique key so two nodes never enqueue the same occurrence.
 * Written on plain SQL rather than pg-boss/graphile-worker because those speak only to a
 * PostgreSQL server, and the embedded default is PGlite.
 */
import { CronExpressionParser } from 'cron-parser';
import { sql } from 'kysely';
import { backoffDelay } from './backoff.js';
import type { Database, Executor } from './db/database.js';
import { newId } from './ids.js';
import { type LoopLogger, PollingLoop } from './loop.js';

export interface Job<P = Record<string, unknown>> {
  id: string;
  name: string;
  payload: P;
  attempts: number;
}

export interface JobDefinition {
  handler: (job: Job) => Promise<void>;
  maxAttempts?: number;
  /** How long one run may take before its lease expires and another node may run it. */
  leaseMs?: number;
}

export interface EnqueueOptions {
  delayMs?: number;
  runAt?: Date;
  maxAttempts?: number;
  /** At most one queued/running job with this key: a second enqueue is a no-op. */
  uniqueKey?: string;
}

const NAME_RE = /^[a-z][a-z0-9_.-]{0,99}$/;

/** Parses `every 500ms|30s|5m|2h|1d` or a 5/6-field cron expression; returns the next run after `from`. */
export function nextRun(schedule: string, from: Date): Date {
  const every = /^every\s+(\d+)\s*(ms|s|m|h|d)$/.exec(schedule.trim());
  if (every) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      every[2] as 'ms' | 's' | 'm' | 'h' | 'd'
    ];
    const ms = Number(every[1]) * unit;
    if (ms < 100) throw new Error(`schedule ${schedule}: at least 100ms between runs`);
    return new Date(from.getTime() + ms);
  }
  try {
    return CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC' }).next().toDate();
  } catch (err) {
    throw new Error(
      `schedule ${JSON.stringify(schedule)} is neither "every <n><ms|s|m|h|d>" nor a cron expression: ${(err as Error).message}`,
    );
  }
}

export interface JobQueueOptions {
  db: Database;
  log: LoopLogger & { warn(obj: object, msg: string): void };
  pollMs?: number;
  concurrency?: number;
  workerId?: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class JobQueue {
  private readonly db: Database;
  private readonly defs = new Map<string, JobDefinition>();
  private readonly schedules = new Map<string, { schedule: string; payload: Record<string, unknown> }>();
  private readonly loop: PollingLoop;
  private readonly log: JobQueueOptions['log'];
  private readonly concurrency: number;
  private readonly workerId: string;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(options: JobQueueOptions) {
    this.db = options.db;
    this.log = options.log;
    this.concurrency = options.concurrency ?? 4;
    this.workerId = options.workerId ?? `${process.pid}-${newId().slice(-8)}`;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 10 * 60_000;
    this.loop = new PollingLoop('jobs', options.pollMs ?? 500, () => this.runDue(), this.log);
  }

  /** Declare what a job name does on this node. */
  define(name: string, def: JobDefinition): void {
    if (!NAME_RE.test(name))
      throw new Error(`job name ${JSON.stringify(name)}: lower-case letters, digits, . _ -`);
    this.defs.set(name, def);
  }

  /** Run `name` on a schedule (`every 1s`, or cron such as `0 3 * * *`). Registered on `start`. */
  every(name: string, schedule: string, payload: Record<string, unknown> = {}): void {
    nextRun(schedule, new Date()); // validate now, not at 3 a.m.
    this.schedules.set(name, { schedule, payload });
  }

  /**
   * Enqueue a job, in the caller's transaction when given one (the job exists iff it commits).
   *
   * @example
   *   await jobs.enqueue(trx, 'approvals.escalate', { approvalId }, { delayMs: 15 * 60_000 });
   */
  async enqueue(
    executor: Executor,
    name: string,
    payload: Record<string, unknown> = {},
    options: EnqueueOptions = {},
  ): Promise<string | undefined> {
    if (!NAME_RE.test(name)) throw new Error(`job name ${JSON.stringify(name)} is not valid`);
    const id = newId();
    const runAt = options.runAt ?? new Date(Date.now() + (options.delayMs ?? 0));
    const res = await sql<{
      id: string;
    }>`insert into platform.jobs (id, name, payload, run_at, max_attempts, unique_key)
      values (${id}, ${name}, ${JSON.stringify(payload)}::jsonb, ${runAt.toISOString()}::timestamptz,
              ${options.maxAttempts ?? this.defs.get(name)?.maxAttempts ?? 10}, ${options.uniqueKey ?? null})
      on conflict do nothing returning id`.execute(executor);
    this.loop.wake();
    return res.rows[0]?.id;
  }

  async start(): Promise<void> {
    for (const [name, s] of this.schedules) {
      const first = nextRun(s.schedule, new Date());
      // Keep an existing next_run_at unless the schedule changed: restarts must not skip or repeat runs.
      await sql`insert into platform.recurring_jobs (name, schedule, payload, next_run_at)
        values (${name}, ${s.schedule}, ${JSON.stringify(s.payload)}::jsonb, ${first.toISOString()}::timestamptz)
        on conflict (name) do update set payload = excluded.payload, updated_at = now(),
          next_run_at = case when platform.recurring_jobs.schedule = excluded.schedule
                             then platform.recurring_jobs.next_run_at else excluded.next_run_at end,
          schedule = excluded.schedule`.execute(this.db.kysely);
    }
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass: enqueue due occurrences, then claim and run due jobs. True if a full batch ran. */
  async runDue(): Promise<boolean> {
    await this.enqueueRecurring();
    const names = [...this.defs.keys()];
    if (names.length === 0) return false;
    const claimed = await sql<{
      id: string;
      name: string;
      payload: Record<string, unknown>;
      attempts: number;
      max_attempts: number;
    }>`
      update platform.jobs j set status = 'running', attempts = j.attempts + 1, locked_by = ${this.workerId},
        locked_until = now() + make_interval(secs => ${this.maxLeaseMs(names) / 1000}::double precision), updated_at = now()
      where j.id in (
        select id from platform.jobs
        where name = any(${names}::text[]) and run_at <= now()
          and (status = 'queued' or (status = 'running' and locked_until < now()))
        order by run_at limit ${this.concurrency} for update skip locked)
      returning j.id, j.name, j.payload, j.attempts, j.max_attempts`.execute(this.db.kysely);
    await Promise.all(claimed.rows.map((row) => this.runOne(row)));
    return claimed.rows.length === this.concurrency;
  }

  private maxLeaseMs(names: string[]): number {
    return Math.max(...names.map((n) => this.defs.get(n)?.leaseMs ?? 60_000));
  }

  private async runOne(row: {
    id: string;
    name: string;
    payload: Record<string, unknown>;
    attempts: number;
    max_attempts: number;
  }) {
    const def = this.defs.get(row.name)!;
    try {
      await def.handler({ id: row.id, name: row.name, payload: row.payload, attempts: row.attempts });
      await sql`update platform.jobs set status = 'done', locked_by = null, locked_until = null, updated_at = now(),
                last_error = null where id = ${row.id} and locked_by = ${this.workerId}`.execute(
        this.db.kysely,
      );
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
      const dead = row.attempts >= row.max_attempts;
      const delay = backoffDelay(row.attempts, { baseMs: this.retryBaseMs, maxMs: this.retryMaxMs });
      this.log.warn(
        { job: row.name, jobId: row.id, attempts: row.attempts, dead, error: message },
        'job failed',
      );
      await sql`update platform.jobs set status = ${dead ? 'dead' : 'queued'}, last_error = ${message},
                locked_by = null, locked_until = null, updated_at = now(),
                run_at = now() + make_interval(secs => ${delay / 1000}::double precision)
                where id = ${row.id} and locked_by = ${this.workerId}`.execute(this.db.kysely);
    }
  }

  private async enqueueRecurring(): Promise<void> {
    if (this.schedules.size === 0) return;
    await this.db.transaction(async (trx) => {
      const due = await sql<{
        name: string;
        schedule: string;
        payload: Record<string, unknown>;
        next_run_at: Date;
      }>`
        select name, schedule, payload, next_run_at from platform.recurring_jobs
        where next_run_at <= now() and name = any(${[...this.schedules.keys()]}::text[])
        for update skip locked`.execute(trx);
      for (const r of due.rows) {
        const at = new Date(r.next_run_at);
        await this.enqueue(trx, r.name, r.payload, { runAt: at, uniqueKey: `recurring:${r.name}` });
        // Skip occurrences missed while no node ran: one catch-up run, not a burst.
        let next = nextRun(r.schedule, at);
        const now = new Date();
        if (next <= now) next = nextRun(r.schedule, now);
        await sql`update platform.recurring_jobs set next_run_at = ${next.toISOString()}::timestamptz, updated_at = now()
                  where name = ${r.name}`.execute(trx);
      }
    });
  }

  /** Jobs that used up their attempts, newest first. */
  async listDead(
    limit = 100,
  ): Promise<{ id: string; name: string; attempts: number; lastError: string | null }[]> {
    const rows = await sql<{ id: string; name: string; attempts: number; last_error: string | null }>`
      select id, name, attempts, last_error from platform.jobs where status = 'dead'
      order by updated_at desc limit ${Math.min(Math.max(limit, 1), 1000)}`.execute(this.db.kysely);
    return rows.rows.map((r) => ({ id: r.id, name: r.name, attempts: r.attempts, lastError: r.last_error }));
  }
}
