-- Decisions are no longer stored by the policy module: each one is an audit record
-- (`decision.made`, product `oversight`) carrying the facts it was made on, and simulation
-- replays those records from the audit log. One write per decision instead of two.
-- Rows of this table are not carried over: the same decisions are in the audit log, without
-- their facts, and a simulation skips them (reported as `skipped`).
drop table if exists policy.decisions;
