-- 0012_parent_classes: every resource class a remote parent lists (RFC 6492
-- §3.3.2), not only the first.  Each class has its own keys (ca_key.class,
-- at most one active and one pending per class since 0001) and its own
-- publication point: the first class certified publishes in the CA's
-- directory, each further class in a subdirectory of it (ca_key.repo_uri,
-- as for a trust anchor's new key in 0009).

-- Never used: ca_parent (0005) holds what the parent_response said.
-- Dropping the column drops the CHECK that named it; the rule it kept for
-- a trust anchor is put back without it.
ALTER TABLE ca DROP COLUMN parent_remote;
ALTER TABLE ca ADD CONSTRAINT ca_ta_no_parent
	CHECK (kind <> 'ta' OR parent_id IS NULL);

-- The classes the parent listed in its last list_response: entitlement
-- and the class's publication point.  ca_parent.class keeps the first
-- listed class (what an offline parent is asked about), ca_parent.asn,
-- ipv4 and ipv6 the union of the entitlements.
CREATE TABLE ca_parent_class (
	ca_id		bigint NOT NULL REFERENCES ca_parent (ca_id)
			ON DELETE CASCADE,
	class		text NOT NULL,
	asn		text NOT NULL DEFAULT '',
	ipv4		text NOT NULL DEFAULT '',
	ipv6		text NOT NULL DEFAULT '',
	repo_uri	text NOT NULL CHECK (repo_uri LIKE 'rsync://%/'),
	listed_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (ca_id, class)
);
