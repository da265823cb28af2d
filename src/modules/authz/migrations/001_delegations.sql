-- Delegation tokens: which root tokens were minted (ids and caveats, never the token itself: a
-- token is a bearer secret until its holder binding is checked) and which were revoked. Every table
-- carries tenant_id, so platform.enforce_tenant_rls gives each the tenant_isolation policy.

-- The tenant root key authz signs with: the secret `secret_name` in the platform secrets store.
-- `secret_version` null = the latest version (the key onboarding stored); a number = the version
-- authz created itself on first use, pinned so that a later onboarding (which stores a new version
-- under the same name) does not silently invalidate every token minted before it.
create table authz.root_keys (
  tenant_id uuid primary key,
  secret_name text not null,
  secret_version integer check (secret_version > 0),
  created_at timestamptz not null default now()
);

-- One row per minted root token. Attenuated tokens share their root's id (the macaroon identifier)
-- and are never seen by the server until presented, so revoking the root revokes every descendant.
create table authz.delegations (
  id uuid primary key,
  tenant_id uuid not null,
  agent_id text not null check (agent_id ~ '^[0-9a-f]{64}$'),
  actions text[] not null,
  resources text[] not null,
  max_depth integer not null check (max_depth between 0 and 64),
  not_after timestamptz not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_by text,
  revoke_reason text
);
create index delegations_tenant on authz.delegations (tenant_id, id);
create index delegations_agent on authz.delegations (tenant_id, agent_id);
-- Every node loads the unexpired revocations at start (then keeps up through the bus).
create index delegations_revoked on authz.delegations (not_after) where revoked_at is not null;
