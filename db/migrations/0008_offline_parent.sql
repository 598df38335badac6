-- 0008_offline_parent: a parent kept off the network (an offline trust
-- anchor, docs/offline-ta.md).  Its RFC 6492 messages travel as files, and
-- the objects of its publication points arrive in its response files and
-- are published here (mirrored) for it.

-- The child side (ca_parent is one row per CA with a remote parent).
ALTER TABLE ca_parent
	-- Messages are carried by the operator (cairnd parent offline-*),
	-- never posted; the daemon's schedule leaves this CA alone.
	ADD COLUMN offline	boolean NOT NULL DEFAULT false,
	-- Key ids (hex SKI) the parent lists certificates for, as of the
	-- last response: what a request asks it to revoke.
	ADD COLUMN listed_keys	text[] NOT NULL DEFAULT '{}',
	-- The key made for the first certificate, until the parent certifies
	-- it (requests made again before the answer ask for the same key).
	ADD COLUMN requested_key char(40)
		CHECK (requested_key ~ '^[0-9a-f]{40}$'),
	-- The parent's own certificate as last authenticated (the issuer of
	-- its RFC 6492 replies): what a mirrored publication point must be
	-- signed under.
	ADD COLUMN parent_cert	bytea;

-- Publication points mirrored for an offline parent: each is a publisher
-- (handle 'mirror <base_uri>') whose objects are exactly the last imported
-- set.  The manifest number only grows: an older response file is refused.
CREATE TABLE mirror_point (
	publisher_id	bigint PRIMARY KEY REFERENCES publisher (id),
	parent		text NOT NULL,		-- the offline parent's handle
	manifest_number	numeric(50, 0),		-- NULL: a point without manifest
	next_update	timestamptz,		-- the manifest's nextUpdate
	imported_at	timestamptz NOT NULL DEFAULT now(),
	imported_by	text NOT NULL
);

CREATE TABLE mirror_object (
	uri		text PRIMARY KEY,
	publisher_id	bigint NOT NULL REFERENCES mirror_point (publisher_id),
	der		bytea NOT NULL,
	hash		sha256 NOT NULL
);
CREATE INDEX mirror_object_publisher_idx ON mirror_object (publisher_id);
