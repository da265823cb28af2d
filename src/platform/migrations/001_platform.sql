-- The shared kernel's own schema: events (outbox), deliveries, jobs, secrets, idempotency.

-- The role tenant-scoped transactions switch to (SET LOCAL ROLE). It cannot log in; RLS applies to it.
do $$
begin
  create role warden_app nologin;
exception when duplicate_object then null;
end $$;
-- So that the connecting user may SET ROLE to it (a no-op for a superuser).
do $$
begin
  execute format('grant warden_app to %I', current_user);
exception when others then null;
end $$;

grant usage on schema platform to warden_app;

-- Makes a table tenant-scoped: RLS on, one policy confining rows to app.tenant_id, DML granted to
-- warden_app. Called for every table that has a tenant_id column after each migration run, so a
-- new tenant-scoped table gets its policy by default (platform.enforce_tenant_rls below).
create or replace function platform.enable_tenant_rls(target regclass) returns void
language plpgsql as $$
declare
  has_policy boolean;
begin
  execute format('alter table %s enable row level security', target);
  select exists (select 1 from pg_policies p
                 join pg_class c on c.relname = p.tablename
                 join pg_namespace n on n.oid = c.relnamespace and n.nspname = p.schemaname
                 where c.oid = target and p.policyname = 'tenant_isolation') into has_policy;
  if not has_policy then
    execute format(
      'create policy tenant_isolation on %s using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', target);
  end if;
  execute format('grant select, insert, update, delete on %s to warden_app', target);
end $$;

-- Every table with a tenant_id column in Warden's schemas gets tenant RLS unless it opts out with
-- the table comment 'rls:off' (documented and reviewed where used).
create or replace function platform.enforce_tenant_rls(schemas text[]) returns integer
language plpgsql as $$
declare
  r record;
  n integer := 0;
begin
  for r in
    select c.oid::regclass as rel, n2.nspname as schema_name
    from pg_class c
    join pg_namespace n2 on n2.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where c.relkind in ('r', 'p') and n2.nspname = any(schemas)
      and coalesce(obj_description(c.oid, 'pg_class'), '') <> 'rls:off'
  loop
    perform platform.enable_tenant_rls(r.rel);
    n := n + 1;
  end loop;
  -- Schemas themselves must be usable by the app role.
  for r in select unnest(schemas) as s loop
    execute format('grant usage on schema %I to warden_app', r.s);
  end loop;
  return n;
end $$;

-- Transactional outbox: a module inserts its event in the same transaction as its state change.
create table platform.outbox (
  id uuid primary key,
  topic text not null,
  tenant_id uuid,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  relayed_at timestamptz
);
create index outbox_unrelayed on platform.outbox (id) where relayed_at is null;
-- Events without a tenant (deployment-wide) must be writable inside tenant transactions too.
create policy outbox_deployment on platform.outbox using (false)
  with check (tenant_id is null);

-- Consumers registered by any node, so the relay fans out to consumers that run elsewhere.
create table platform.event_consumers (
  name text primary key,
  topics text[] not null,
  updated_at timestamptz not null default now()
);
comment on table platform.event_consumers is 'rls:off';

-- One row per (consumer, event): the idempotency record and the retry state.
create table platform.event_deliveries (
  consumer text not null,
  event_id uuid not null,
  status text not null check (status in ('pending', 'done', 'dead')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  updated_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index event_deliveries_due on platform.event_deliveries (next_attempt_at) where status = 'pending';
create index event_deliveries_dead on platform.event_deliveries (updated_at) where status = 'dead';

-- Durable jobs: at least once, leased, retried with backoff.
create table platform.jobs (
  id uuid primary key,
  name text not null,
  payload jsonb not null default '{}'::jsonb,
  run_at timestamptz not null,
  attempts integer not null default 0,
  max_attempts integer not null default 10,
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'dead')),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  unique_key text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index jobs_due on platform.jobs (run_at) where status in ('queued', 'running');
create unique index jobs_unique_key on platform.jobs (unique_key) where unique_key is not null and status in ('queued', 'running');

create table platform.recurring_jobs (
  name text primary key,
  schedule text not null,
  payload jsonb not null default '{}'::jsonb,
  next_run_at timestamptz not null,
  updated_at timestamptz not null default now()
);

-- Envelope-encrypted secrets: each version's value under its own data key, the data key under a master key.
create table platform.secrets (
  tenant_id uuid,
  name text not null,
  version integer not null,
  ciphertext bytea not null,
  data_key_wrapped bytea not null,
  master_key_id text not null,
  created_at timestamptz not null default now(),
  primary key (name, version)
);
create index secrets_master_key on platform.secrets (master_key_id);
comment on table platform.secrets is 'rls:off';

-- Idempotency keys for creates: the first response is replayed for a retry with the same key and body.
create table platform.idempotency_keys (
  principal text not null,
  key text not null,
  request_hash text not null,
  status text not null check (status in ('pending', 'done')),
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (principal, key)
);
