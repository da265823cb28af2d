-- Agents: non-human identities. agent_id = hex SHA-256 of the first Ed25519 public key; a rotated
-- agent keeps its id and gets a new key version. Revoked agents stay (audit), with revoked_at set.
create table identity.agents (
  id text primary key check (id ~ '^[0-9a-f]{64}$'),
  tenant_id uuid not null references identity.tenants (id),
  name text not null,
  public_key bytea not null,
  key_version integer not null default 1,
  tier text not null default 'basic' check (tier in ('basic', 'standard', 'premium')),
  trust_level text not null default 'untrusted' check (trust_level in ('trusted', 'untrusted', 'suspended')),
  trust_before_suspend text check (trust_before_suspend in ('trusted', 'untrusted')),
  owner text not null,
  metadata jsonb not null default '{}'::jsonb,
  revision integer not null default 1,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_active_at timestamptz
);
create index agents_tenant on identity.agents (tenant_id, created_at);

-- Every key an agent has held, for audit and for verifying old signatures.
create table identity.agent_keys (
  agent_id text not null references identity.agents (id),
  tenant_id uuid not null,
  key_version integer not null,
  public_key bytea not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz,
  primary key (agent_id, key_version)
);
