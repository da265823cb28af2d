-- Humans and their credentials: local users, dashboard sessions, API keys, onboarding records, and
-- the revocation log every node polls to evict its credential cache. Every table carries tenant_id,
-- so platform.enforce_tenant_rls gives each the tenant_isolation policy and warden_app grants.

-- Local (and SSO-linked) accounts. An email belongs to one tenant only, so login needs no tenant.
create table identity.users (
  id uuid primary key,
  tenant_id uuid not null references identity.tenants (id),
  email text not null,
  -- argon2id PHC string; null for accounts that sign in through SSO only.
  password_hash text,
  role text not null check (role in ('owner', 'admin', 'approver', 'auditor', 'developer', 'viewer')),
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_unique on identity.users (lower(email));
create index users_tenant on identity.users (tenant_id, id);

-- Dashboard sessions. Only the SHA-256 of the session token is stored.
create table identity.sessions (
  id uuid primary key,
  tenant_id uuid not null references identity.tenants (id),
  user_id uuid not null references identity.users (id),
  token_hash bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create unique index sessions_token_hash on identity.sessions (token_hash);
create index sessions_user on identity.sessions (user_id);

-- API keys: shown once, stored as SHA-256 (the key holds 256 random bits, so a fast hash suffices),
-- with a visible prefix for people to tell keys apart.
create table identity.api_keys (
  id uuid primary key,
  tenant_id uuid not null references identity.tenants (id),
  name text not null,
  prefix text not null,
  secret_hash bytea not null,
  role text not null check (role in ('owner', 'admin', 'approver', 'auditor', 'developer', 'viewer')),
  scopes text[] not null default '{}',
  created_by text not null,
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index api_keys_secret_hash on identity.api_keys (secret_hash);
create index api_keys_tenant on identity.api_keys (tenant_id, id);

-- One row per onboarded tenant. `default_policy_set` is the placeholder the policy module picks up
-- (it also receives identity.tenant.onboarded): the name of the catalogue set to install.
create table identity.tenant_onboarding (
  tenant_id uuid primary key references identity.tenants (id),
  owner_user_id uuid not null references identity.users (id),
  root_key_secret text not null,
  default_policy_set text not null,
  policy_set_installed_at timestamptz,
  onboarded_at timestamptz not null default now()
);

-- Append-only log of credential revocations (key revoked, session ended, user disabled, tenant
-- deactivated). Each node polls it by `seq` and evicts what it cached, so a revocation on one node
-- reaches every node's cache within one poll interval.
create table identity.credential_revocations (
  seq bigint generated always as identity primary key,
  tenant_id uuid not null,
  kind text not null check (kind in ('api_key', 'session', 'user', 'tenant')),
  subject_id uuid not null,
  created_at timestamptz not null default now()
);
