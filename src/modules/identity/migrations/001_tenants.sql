-- Tenants: the unit of isolation. Every tenant-scoped table elsewhere carries tenant_id under RLS.
create table identity.tenants (
  id uuid primary key,
  name text not null,
  status text not null default 'active' check (status in ('active', 'deactivated')),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index tenants_name_unique on identity.tenants (lower(name));

-- A tenant sees only itself. The table has no tenant_id column, so its policy is written here.
alter table identity.tenants enable row level security;
create policy tenant_self on identity.tenants
  using (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, update on identity.tenants to warden_app;
