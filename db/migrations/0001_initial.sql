-- 0001_initial: the first schema of the CA engine (cairnd) and the
-- publication server (cairn-pubd).
--
-- Rules for every migration file (see docs/database.md):
--   * it runs inside one transaction that the daemon opens: no BEGIN/COMMIT,
--     no CREATE INDEX CONCURRENTLY, no VACUUM;
--   * it is never edited once released: change the schema with a new file.
-- Conventions: ids are bigint identities; times are timestamptz; DER and
-- other binary data are bytea; hashes are SHA-256 (32 bytes); AS numbers are
-- bigint in 0..4294967295; resource sets are the canonical text that
-- ca/resources.h prints and parses ("" when empty, "inherit").

CREATE DOMAIN asn AS bigint CHECK (VALUE BETWEEN 0 AND 4294967295);
CREATE DOMAIN sha256 AS bytea CHECK (octet_length(VALUE) = 32);

----------------------------------------------------------------------------
-- Certificate authorities operated here (their keys are in the HSM).
----------------------------------------------------------------------------
CREATE TABLE ca (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	handle		text NOT NULL UNIQUE
			CHECK (handle ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$'),
	-- 'ta': self-signed trust anchor; 'hosted': any CA below it here.
	kind		text NOT NULL CHECK (kind IN ('ta', 'hosted')),
	-- The parent when it is operated here; NULL for a trust anchor or for
	-- a CA whose parent is remote (then parent_remote holds the RFC 8183
	-- parent response: service URI, parent handle, BPKI certificate).
	parent_id	bigint REFERENCES ca (id),
	parent_remote	jsonb,
	-- Repository of the CA's products (SIA id-ad-caRepository, rsync) and
	-- the RRDP notification URI (SIA id-ad-rpkiNotify).
	repo_uri	text NOT NULL CHECK (repo_uri LIKE 'rsync://%/'),
	notify_uri	text CHECK (notify_uri LIKE 'https://%'),
	-- The CA's identity (BPKI) key for RFC 6492/8181, in the HSM.
	id_key		text,
	id_cert		bytea,
	created_at	timestamptz NOT NULL DEFAULT now(),
	deleted_at	timestamptz,
	CHECK (kind <> 'ta' OR (parent_id IS NULL AND parent_remote IS NULL))
);
CREATE INDEX ca_parent_idx ON ca (parent_id) WHERE parent_id IS NOT NULL;
COMMENT ON TABLE ca IS 'Certificate authorities whose keys Cairn holds';

-- Resources a CA is entitled to (from its parent or the registry).
CREATE TABLE ca_resources (
	ca_id		bigint PRIMARY KEY REFERENCES ca (id) ON DELETE CASCADE,
	asn		text NOT NULL DEFAULT '',
	ipv4		text NOT NULL DEFAULT '',
	ipv6		text NOT NULL DEFAULT '',
	-- Entitlements end: certificates never outlive this.
	valid_until	timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- CA key pairs.  The id is the signer's key id (hsm_key_id(): the SKI in
-- hex), so the HSM object and this row name the same key.  Life cycle
-- (RFC 6489): pending -> active -> old -> revoked; a new key is pending
-- until its certificate is published long enough, then the keys swap.
CREATE TABLE ca_key (
	id		char(40) PRIMARY KEY CHECK (id ~ '^[0-9a-f]{40}$'),
	ca_id		bigint NOT NULL REFERENCES ca (id),
	-- RFC 6492 resource class; "default" for CAs below a local parent.
	class		text NOT NULL DEFAULT 'default',
	state		text NOT NULL
			CHECK (state IN ('pending', 'active', 'old', 'revoked')),
	-- The certificate the parent issued for this key, and where it is.
	cert		bytea,
	cert_uri	text,
	-- Counters of the next CRL and manifest (RFC 6487, RFC 9286).
	next_crl_number	bigint NOT NULL DEFAULT 1 CHECK (next_crl_number > 0),
	next_mft_number	bigint NOT NULL DEFAULT 1 CHECK (next_mft_number > 0),
	created_at	timestamptz NOT NULL DEFAULT now(),
	activated_at	timestamptz,
	retired_at	timestamptz,
	revoked_at	timestamptz
);
-- At most one active and one pending key per CA and resource class.
CREATE UNIQUE INDEX ca_key_active_idx ON ca_key (ca_id, class)
	WHERE state = 'active';
CREATE UNIQUE INDEX ca_key_pending_idx ON ca_key (ca_id, class)
	WHERE state = 'pending';
CREATE INDEX ca_key_ca_idx ON ca_key (ca_id);

-- Delegated children (Krill, rpkid, ...) served over RFC 6492.
CREATE TABLE ca_child (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ca_id		bigint NOT NULL REFERENCES ca (id),
	handle		text NOT NULL,
	id_cert		bytea NOT NULL,		-- the child's BPKI TA (RFC 8183)
	asn		text NOT NULL DEFAULT '',
	ipv4		text NOT NULL DEFAULT '',
	ipv6		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	deleted_at	timestamptz,
	UNIQUE (ca_id, handle)
);

----------------------------------------------------------------------------
-- What members ask for: ROA and ASPA configuration.  The CA engine turns it
-- into signed objects; a change here is followed by NOTIFY cairn_ca.
----------------------------------------------------------------------------
CREATE TABLE roa_config (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ca_id		bigint NOT NULL REFERENCES ca (id) ON DELETE CASCADE,
	asn		asn NOT NULL,
	prefix		cidr NOT NULL,
	max_length	smallint NOT NULL,
	comment		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (max_length >= masklen(prefix) AND
	    max_length <= CASE family(prefix) WHEN 4 THEN 32 ELSE 128 END),
	UNIQUE (ca_id, asn, prefix, max_length)
);

CREATE TABLE aspa_config (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ca_id		bigint NOT NULL REFERENCES ca (id) ON DELETE CASCADE,
	customer	asn NOT NULL,
	-- Provider ASes, ascending and unique (the encoder relies on it).
	providers	bigint[] NOT NULL CHECK (cardinality(providers) > 0),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (ca_id, customer)
);

CREATE FUNCTION cairn_notify_ca() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- Payload: the CA whose objects must be recomputed.
	PERFORM pg_notify('cairn_ca', CASE TG_OP WHEN 'DELETE'
	    THEN OLD.ca_id ELSE NEW.ca_id END::text);
	RETURN NULL;
END $$;
CREATE TRIGGER roa_config_notify AFTER INSERT OR UPDATE OR DELETE
	ON roa_config FOR EACH ROW EXECUTE FUNCTION cairn_notify_ca();
CREATE TRIGGER aspa_config_notify AFTER INSERT OR UPDATE OR DELETE
	ON aspa_config FOR EACH ROW EXECUTE FUNCTION cairn_notify_ca();

----------------------------------------------------------------------------
-- What the CAs signed.  Current objects have withdrawn_at NULL; the row of
-- a replaced object is kept until it expires (for CRL and audit).
----------------------------------------------------------------------------
CREATE TABLE issued_object (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ca_id		bigint NOT NULL REFERENCES ca (id),
	key_id		char(40) NOT NULL REFERENCES ca_key (id),
	kind		text NOT NULL
			CHECK (kind IN ('cer', 'crl', 'mft', 'roa', 'asa', 'gbr')),
	-- File name in the issuing key's publication point, and full URI.
	name		text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]+$'),
	uri		text NOT NULL,
	der		bytea NOT NULL,
	hash		sha256 NOT NULL,
	-- Serial of the (EE) certificate, decimal: up to 20 octets.
	serial		numeric(50, 0),
	not_before	timestamptz NOT NULL,
	not_after	timestamptz NOT NULL,
	-- For manifests and CRLs: when the scheduler must re-issue.
	reissue_at	timestamptz,
	-- What it was made from ("AS65000" for a ROA, a child handle for a
	-- certificate), for the engine to find what a change touches.
	subject		text NOT NULL DEFAULT '',
	issued_at	timestamptz NOT NULL DEFAULT now(),
	withdrawn_at	timestamptz
);
-- One current object per URI.
CREATE UNIQUE INDEX issued_object_current_idx ON issued_object (uri)
	WHERE withdrawn_at IS NULL;
CREATE INDEX issued_object_ca_idx ON issued_object (ca_id, kind)
	WHERE withdrawn_at IS NULL;
CREATE INDEX issued_object_reissue_idx ON issued_object (reissue_at)
	WHERE withdrawn_at IS NULL AND reissue_at IS NOT NULL;

-- Certificates revoked by a key, listed on its CRL until they expire.
CREATE TABLE revoked_cert (
	key_id		char(40) NOT NULL REFERENCES ca_key (id),
	serial		numeric(50, 0) NOT NULL,
	revoked_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,	-- drop from the CRL after this
	PRIMARY KEY (key_id, serial)
);

----------------------------------------------------------------------------
-- Publication server (RFC 8181 and RRDP, RFC 8182).
----------------------------------------------------------------------------
CREATE TABLE publisher (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	handle		text NOT NULL UNIQUE,
	-- Every URI the publisher writes must start with this (rsync://.../).
	base_uri	text NOT NULL UNIQUE CHECK (base_uri LIKE 'rsync://%/'),
	-- BPKI TA of a remote RFC 8181 client; NULL for Cairn's own CAs,
	-- which publish through this database.
	id_cert		bytea,
	created_at	timestamptz NOT NULL DEFAULT now(),
	deleted_at	timestamptz
);

-- The repository as it is now: what a snapshot contains.
CREATE TABLE pub_object (
	uri		text PRIMARY KEY,
	publisher_id	bigint NOT NULL REFERENCES publisher (id),
	hash		sha256 NOT NULL,
	data		bytea NOT NULL,
	serial		bigint NOT NULL,	-- RRDP serial that published it
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pub_object_publisher_idx ON pub_object (publisher_id);

-- The outbox: publication intents written in the same transaction as the
-- objects (by the CA engine, or by the RFC 8181 server).  The publication
-- leader assigns them to the next RRDP serial; serial NULL means pending.
CREATE TABLE pub_change (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	publisher_id	bigint NOT NULL REFERENCES publisher (id),
	op		text NOT NULL CHECK (op IN ('publish', 'withdraw')),
	uri		text NOT NULL,
	-- The object replaced or withdrawn (RFC 8181 "hash"); NULL for new.
	old_hash	sha256,
	data		bytea,
	created_at	timestamptz NOT NULL DEFAULT now(),
	serial		bigint,
	CHECK ((op = 'publish') = (data IS NOT NULL)),
	CHECK (op = 'publish' OR old_hash IS NOT NULL)
);
CREATE INDEX pub_change_pending_idx ON pub_change (id) WHERE serial IS NULL;
CREATE INDEX pub_change_serial_idx ON pub_change (serial)
	WHERE serial IS NOT NULL;

CREATE FUNCTION cairn_notify_pub() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('cairn_pub', '');
	RETURN NULL;
END $$;
CREATE TRIGGER pub_change_notify AFTER INSERT ON pub_change
	FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_pub();

-- RRDP sessions: one is current.  A new session (e.g. after restoring a
-- backup) makes relying parties fetch a fresh snapshot.
CREATE TABLE rrdp_session (
	id		uuid PRIMARY KEY,	-- version 4 (RFC 8182)
	current		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rrdp_session_current_idx ON rrdp_session (current)
	WHERE current;

-- One row per serial of a session: its delta (absent for serial 1) and,
-- when built, its snapshot.  Files are immutable once written; their URIs
-- contain an unpredictable token.  Replicas serve what is here.
CREATE TABLE rrdp_serial (
	session_id	uuid NOT NULL REFERENCES rrdp_session (id),
	serial		bigint NOT NULL CHECK (serial > 0),
	created_at	timestamptz NOT NULL DEFAULT now(),
	delta_uri	text,
	delta_hash	sha256,
	delta		bytea,
	snapshot_uri	text,
	snapshot_hash	sha256,
	snapshot	bytea,
	PRIMARY KEY (session_id, serial),
	CHECK ((delta IS NULL) = (delta_hash IS NULL)),
	CHECK ((snapshot IS NULL) = (snapshot_hash IS NULL))
);

----------------------------------------------------------------------------
-- Audit log: who changed what.  Written in the transaction of the change;
-- never updated.  The id doubles as the change id the API returns.
----------------------------------------------------------------------------
CREATE TABLE audit_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor		text NOT NULL,		-- token name, "cli:<user>", "engine"
	action		text NOT NULL,		-- "roa.add", "key.roll", ...
	ca_id		bigint REFERENCES ca (id),
	object		text NOT NULL DEFAULT '',
	detail		jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ca_idx ON audit_log (ca_id, at);
