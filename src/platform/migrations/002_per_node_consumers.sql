-- Per-node event consumers (`Consumer.perNode` in src/platform/events/bus.ts): state kept in one
-- process's memory and rebuilt when it starts, such as authz's revoked-token list. Each node
-- registers its own, under a name of its own, and marks it alive every few seconds (`seen_at`).
-- The relay gives events only to durable consumers and to per-node ones seen within the TTL; any
-- node deletes a per-node consumer not seen for longer, with its deliveries, so a node that is
-- gone for good stops collecting pending rows. Durable consumers (the default) have no `seen_at`
-- and are never removed.

alter table platform.event_consumers
  add column per_node boolean not null default false,
  add column seen_at timestamptz;

alter table platform.event_consumers
  add constraint event_consumers_seen_iff_per_node check (per_node = (seen_at is not null));
