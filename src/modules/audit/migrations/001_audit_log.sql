-- The audit module: one append-only Merkle log per tenant (RFC 6962 hashing).
--
-- Invariants (see README.md):
--   * leaves of a tenant are numbered 0..tree_size-1 without gaps, in append order;
--   * audit.nodes holds the hash of every complete subtree (level, idx) = 2^level leaves from
--     leaf idx * 2^level; level 0 are the leaf hashes. Retention never deletes a node;
--   * audit.logs.frontier is the concatenation of the hashes of rootKeys(tree_size), so a batch
--     appends after reading one row;
--   * everything a batch writes (records, nodes, the new log state) commits in one transaction.

-- Per-tenant log state. The row lock on it orders appends of one tenant across nodes.
create table audit.logs (
  tenant_id uuid primary key,
  tree_size bigint not null default 0 check (tree_size >= 0),
  frontier bytea not null default ''::bytea,
  signed_size bigint not null default -1,
  updated_at timestamptz not null default now()
);

-- One row per leaf. `canonical` is the exact RFC 8785 bytes that were hashed (the redacted
-- record); retention sets it (and the personal columns) to null, never the leaf hash.
create table audit.records (
  tenant_id uuid not null,
  leaf_index bigint not null check (leaf_index >= 0),
  record_id uuid not null,
  product text not null,
  event_type text not null,
  actor text,
  resource_id text,
  action text,
  outcome text,
  occurred_at timestamptz not null,
  canonical bytea,
  expired_at timestamptz,
  primary key (tenant_id, leaf_index)
);
create unique index records_id on audit.records (tenant_id, record_id);
create index records_time on audit.records (tenant_id, occurred_at);
create index records_product on audit.records (tenant_id, product, leaf_index);
create index records_actor on audit.records (tenant_id, actor, leaf_index);
create index records_resource on audit.records (tenant_id, resource_id, leaf_index);
create index records_unexpired on audit.records (product, occurred_at) where canonical is not null;

-- Complete subtree hashes: a root or proof reads O(log n) rows by primary key in one query.
create table audit.nodes (
  tenant_id uuid not null,
  level smallint not null check (level >= 0 and level < 64),
  idx bigint not null check (idx >= 0),
  hash bytea not null check (octet_length(hash) = 32),
  primary key (tenant_id, level, idx)
);

-- Signed tree heads (Ed25519, the deployment key; signed bytes in tree-head.ts).
create table audit.tree_heads (
  tenant_id uuid not null,
  tree_size bigint not null check (tree_size >= 0),
  signed_at_ms bigint not null,
  root_hash bytea not null check (octet_length(root_hash) = 32),
  signature bytea not null,
  key_id text not null,
  primary key (tenant_id, tree_size)
);

-- Per-tenant settings: redaction kinds (null = every kind) and retention days per product.
create table audit.settings (
  tenant_id uuid primary key,
  redaction_kinds text[],
  retention_days jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now()
);
