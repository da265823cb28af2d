-- The policy module: tenant policy sets with versions, the tenant's active/shadow head, decisions
-- (each with the input it was made on, for simulation), shadow disagreements and tenant templates.
-- Every table carries tenant_id, so platform.enforce_tenant_rls gives each the tenant_isolation
-- policy; templates add a second, read-only policy for public ones (below).

-- A named policy set of a tenant. Its content lives in versions.
create table policy.policies (
  id uuid primary key,
  tenant_id uuid not null,
  name text not null,
  description text not null default '',
  latest_version integer not null default 0,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index policies_tenant_name on policy.policies (tenant_id, lower(name));
create index policies_tenant on policy.policies (tenant_id, id);

-- An immutable rule set with its test cases. Only `state` and the transition columns change:
-- draft -> proposed -> active -> superseded (another version enforced) | revoked.
create table policy.versions (
  id uuid primary key,
  tenant_id uuid not null,
  policy_id uuid not null references policy.policies (id),
  version integer not null check (version > 0),
  state text not null check (state in ('draft', 'proposed', 'active', 'superseded', 'revoked')),
  description text not null default '',
  rules jsonb not null,
  tests jsonb not null default '[]'::jsonb,
  source jsonb,
  created_by text not null,
  created_at timestamptz not null default now(),
  proposed_by text,
  proposed_at timestamptz,
  enforced_by text,
  enforced_at timestamptz,
  revoked_by text,
  revoked_at timestamptz,
  unique (policy_id, version)
);
create index versions_tenant on policy.versions (tenant_id, policy_id, version);

-- Who moved a version from which state to which, and why (also sent to the audit log).
create table policy.transitions (
  id uuid primary key,
  tenant_id uuid not null,
  version_id uuid not null references policy.versions (id),
  from_state text,
  to_state text not null,
  actor text not null,
  reason text not null,
  at timestamptz not null default now()
);
create index transitions_version on policy.transitions (version_id, id);

-- The tenant's head: the one active version and the one shadow version. `seq` grows on every
-- change (from one sequence across tenants) so nodes find changed heads with one indexed query.
create sequence policy.head_seq;
create table policy.heads (
  tenant_id uuid primary key,
  active_version_id uuid references policy.versions (id),
  shadow_version_id uuid references policy.versions (id),
  seq bigint not null default nextval('policy.head_seq'),
  updated_at timestamptz not null default now()
);
create index heads_seq on policy.heads (seq);
grant usage on sequence policy.head_seq to warden_app;

-- Decisions, with the facts they were made on (simulation replays them under a candidate).
create table policy.decisions (
  id uuid primary key,
  tenant_id uuid not null,
  version_id uuid,
  decision text not null check (decision in ('allow', 'deny', 'pending_approval')),
  rule_ids text[] not null default '{}',
  agent_id text,
  action text not null,
  input jsonb not null,
  errors jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now()
);
create index decisions_tenant on policy.decisions (tenant_id, id desc);

-- Where a shadow version disagreed with the active one on live traffic.
create table policy.shadow_disagreements (
  id uuid primary key,
  tenant_id uuid not null,
  shadow_version_id uuid not null references policy.versions (id),
  decision_id uuid not null,
  active_version_id uuid,
  active_decision text not null,
  active_rule_ids text[] not null default '{}',
  shadow_decision text not null,
  shadow_rule_ids text[] not null default '{}',
  action text not null,
  created_at timestamptz not null default now()
);
create index shadow_by_version on policy.shadow_disagreements (tenant_id, shadow_version_id, id desc);

-- Templates a tenant publishes; public ones are readable by every tenant.
create table policy.templates (
  id uuid primary key,
  tenant_id uuid not null,
  name text not null,
  description text not null default '',
  visibility text not null check (visibility in ('private', 'public')),
  latest_version integer not null default 1,
  forked_from text,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index templates_tenant_name on policy.templates (tenant_id, lower(name));
create index templates_public on policy.templates (visibility, id) where visibility = 'public';

create table policy.template_versions (
  id uuid primary key,
  tenant_id uuid not null,
  template_id uuid not null references policy.templates (id),
  version integer not null check (version > 0),
  parameters jsonb not null default '[]'::jsonb,
  rules jsonb not null,
  tests jsonb not null default '[]'::jsonb,
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (template_id, version)
);

-- Public templates and their versions are readable across tenants (never writable): a permissive
-- policy OR-ed with tenant_isolation for SELECT only.
alter table policy.templates enable row level security;
create policy public_read on policy.templates for select using (visibility = 'public');
alter table policy.template_versions enable row level security;
create policy public_read on policy.template_versions for select
  using (exists (select 1 from policy.templates t where t.id = template_id and t.visibility = 'public'));
