import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { newId } from '../src/platform/ids.js';
import { drivers } from './support/drivers.js';
import { useWarden } from './support/warden.js';

for (const driver of drivers()) {
  describe(`operator routes for dead letters and dead jobs (${driver.name})`, () => {
    const t = useWarden(driver);

    it('lists a dead delivery with its error and replays it on request', async () => {
      const eventId = newId();
      await sql`insert into platform.outbox (id, topic, payload, relayed_at) values (${eventId}, 'test.thing.failed', '{}'::jsonb, now())`.execute(
        t.node.db.kysely,
      );
      await sql`insert into platform.event_deliveries (consumer, event_id, status, attempts, last_error)
                values ('test.consumer', ${eventId}, 'dead', 8, 'Error: downstream said no')`.execute(
        t.node.db.kysely,
      );
      const list = await t.node.app.inject({
        method: 'GET',
        url: '/v1/platform/events/dead',
        headers: t.auth,
      });
      expect(list.statusCode).toBe(200);
      expect(list.json().items).toEqual([
        expect.objectContaining({
          consumer: 'test.consumer',
          event_id: eventId,
          topic: 'test.thing.failed',
          attempts: 8,
          last_error: 'Error: downstream said no',
        }),
      ]);
      const replay = await t.node.app.inject({
        method: 'POST',
        url: '/v1/platform/events/dead/replay',
        headers: t.auth,
        payload: { event_id: eventId },
      });
      expect(replay.json()).toEqual({ replayed: 1 });
      const after = await t.node.app.inject({
        method: 'GET',
        url: '/v1/platform/events/dead',
        headers: t.auth,
      });
      expect(after.json().items).toEqual([]);
      const row = await sql<{
        status: string;
        attempts: number;
      }>`select status, attempts from platform.event_deliveries
        where event_id = ${eventId}`.execute(t.node.db.kysely);
      expect(row.rows[0]).toEqual({ status: 'pending', attempts: 0 });
    });

    it('validates replay filters and refuses callers without a credential', async () => {
      const bad = await t.node.app.inject({
        method: 'POST',
        url: '/v1/platform/events/dead/replay',
        headers: t.auth,
        payload: { event_id: 'nope' },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ type: '/problems/validation-failed', field: 'body.event_id' });
      const anon = await t.node.app.inject({ method: 'GET', url: '/v1/platform/jobs/dead' });
      expect(anon.statusCode).toBe(401);
    });

    it('lists jobs that used up their attempts', async () => {
      const id = newId();
      await sql`insert into platform.jobs (id, name, run_at, attempts, max_attempts, status, last_error)
                values (${id}, 'test.broken', now(), 3, 3, 'dead', 'it broke')`.execute(t.node.db.kysely);
      const res = await t.node.app.inject({ method: 'GET', url: '/v1/platform/jobs/dead', headers: t.auth });
      expect(res.json().items).toContainEqual({
        id,
        name: 'test.broken',
        attempts: 3,
        last_error: 'it broke',
      });
    });
  });
}
