-- Subtree hashes as tiles (see tiles.ts) instead of one row per node, and fewer indexes on
-- audit.records: the append path maintained 7 indexes per record and wrote ~2 node rows per leaf.
--
--   * audit.tiles (tenant_id, level, idx): the hashes of nodes idx*16 .. idx*16+15 of tree level
--     4*level, concatenated (32 bytes each, in index order). A tile only grows at its end. The tree
--     levels between multiples of 4 are recomputed from the tile on read. Retention never touches it.
--   * An existing log is carried over: the stored nodes of levels 0, 4, 8, … become tiles, in the
--     same transaction, and the migration refuses to run if a tile's nodes are not gap-free (a log
--     that was tampered with must be looked at, not silently renumbered).
--   * records_time (tenant_id, occurred_at) becomes a BRIN index on occurred_at: records are
--     appended in time order, so block ranges bound time filters at almost no write cost.
--     records_product is dropped: products are a handful of module names, so a product filter
--     walks the primary key backwards and finds its page quickly.

create table audit.tiles (
  tenant_id uuid not null,
  level smallint not null check (level >= 0 and level < 16),
  idx bigint not null check (idx >= 0),
  hashes bytea not null check (octet_length(hashes) % 32 = 0 and octet_length(hashes) <= 512),
  primary key (tenant_id, level, idx)
);
-- Hashes do not compress: skip the attempt (a full tile, 512 bytes, stays inline anyway).
alter table audit.tiles alter column hashes set storage external;

do $$
begin
  if exists (
    select 1 from audit.nodes where level % 4 = 0
    group by tenant_id, level, idx / 16
    having min(idx) <> (idx / 16) * 16 or count(*) <> max(idx) - min(idx) + 1
  ) then
    raise exception 'audit.nodes has gaps at a tiled level; verify the affected logs before migrating';
  end if;
end $$;

insert into audit.tiles (tenant_id, level, idx, hashes)
select tenant_id, level / 4, idx / 16, string_agg(hash, ''::bytea order by idx)
from audit.nodes where level % 4 = 0
group by tenant_id, level / 4, idx / 16;

drop table audit.nodes;

drop index audit.records_time;
drop index audit.records_product;
create index records_time_brin on audit.records using brin (occurred_at);
