-- 0002_pubd: what the publication server (cairn-pubd) needs beyond 0001:
-- RFC 8181 replay protection, the notification file of each serial (so
-- that every replica serves the same bytes), file retention, the
-- mass-withdrawal guard, and a lookup of pending changes by URI.

-- RFC 8181 §2 / RFC 6492 §3.1: the CMS signing-time of the last query
-- accepted from a publisher; an older or equal one is a replay.
ALTER TABLE publisher ADD COLUMN last_signing_time timestamptz;

-- The notification file published with a serial (built once by the
-- leader), and when the snapshot and delta stopped being listed in the
-- current notification (their bytes are dropped a retention time later).
ALTER TABLE rrdp_serial ADD COLUMN notification bytea;
ALTER TABLE rrdp_serial ADD COLUMN snapshot_dropped_at timestamptz;
ALTER TABLE rrdp_serial ADD COLUMN delta_dropped_at timestamptz;

-- The RFC 8181 checks read the current state: pub_object plus the pending
-- changes of a URI.
CREATE INDEX pub_change_pending_uri_idx ON pub_change (uri, id)
	WHERE serial IS NULL;

-- Mass-withdrawal guard: a batch of pending changes up to last_change that
-- would withdraw too much is held until an operator releases it.
CREATE TABLE pub_hold (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	last_change	bigint NOT NULL,	-- highest pub_change.id held
	reason		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	released_at	timestamptz,
	released_by	text,
	serial		bigint		-- the serial that published it
);
CREATE INDEX pub_hold_open_idx ON pub_hold (id) WHERE released_at IS NULL;
