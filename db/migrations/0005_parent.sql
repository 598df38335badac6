-- 0005_parent: the child side of RFC 6492.  A CA whose parent is operated
-- elsewhere (another Cairn, Krill, rpkid) has no parent_id; this row holds
-- what the parent's RFC 8183 parent_response said, and the state of the
-- up-down exchanges with it.  Until the parent has certified a key the CA
-- has no ca_key row.
CREATE TABLE ca_parent (
	ca_id		bigint PRIMARY KEY REFERENCES ca (id),
	parent_handle	text NOT NULL,
	child_handle	text NOT NULL,		-- our handle at the parent
	service_uri	text NOT NULL CHECK (service_uri ~ '^https?://'),
	id_cert		bytea NOT NULL,		-- the parent's BPKI TA
	-- The resource class and entitlement the parent last listed.
	class		text,
	asn		text NOT NULL DEFAULT '',
	ipv4		text NOT NULL DEFAULT '',
	ipv6		text NOT NULL DEFAULT '',
	-- The schedule: the engine asks the parent again at next_sync.
	next_sync	timestamptz NOT NULL DEFAULT now(),
	last_sync	timestamptz,		-- last successful exchange
	last_error	text,
	-- Signing times (RFC 6492 §3.1): of our last request, which the
	-- parent requires to increase, and of the last reply accepted, so
	-- that a replayed reply is refused.
	last_sent_time	timestamptz,
	last_signing_time timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ca_parent_due_idx ON ca_parent (next_sync);
