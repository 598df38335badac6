-- 0009_ta_keyroll: key rolls of a trust anchor (RFC 9691, ca/engine_ta.c).
--
-- During the roll the trust anchor has two keys, each with its own
-- self-signed certificate and its own publication point: the new key's
-- directory and publisher are on its ca_key row (NULL: the CA's repo_uri and
-- publisher, as for every other key).  Both publication points carry a
-- signed TAL (issued_object kind 'tak').
ALTER TABLE ca_key
	ADD COLUMN repo_uri text CHECK (repo_uri LIKE 'rsync://%/'),
	ADD COLUMN publisher_id bigint REFERENCES publisher (id);

ALTER TABLE issued_object DROP CONSTRAINT issued_object_kind_check;
ALTER TABLE issued_object ADD CONSTRAINT issued_object_kind_check
	CHECK (kind IN ('cer', 'crl', 'mft', 'roa', 'asa', 'gbr', 'tak'));
