-- 0007_engine_scale: indexes that keep the cost of one change independent of
-- the number of CAs (docs/performance.md, tests/bench/bench_ca.c).
--
-- The internal validator (ca/engine_check.c) reads back what a transaction
-- wrote with one key ("key_id = $1 AND withdrawn_at IS NULL AND issued_at =
-- now()"); without this index that was a scan of every current object of
-- every CA, on every change.
CREATE INDEX issued_object_key_idx ON issued_object (key_id, issued_at)
	WHERE withdrawn_at IS NULL;
