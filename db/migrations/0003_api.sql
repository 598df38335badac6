-- 0003_api: bearer tokens and idempotency keys of the provisioning API
-- (api/, docs/api.md).  Numbered 0003: 0002 belongs to the publication
-- server; db_migrate applies every known version that is not recorded, so
-- the order of arrival does not matter.

-- A token is shown once when created; only its SHA-256 is kept.  Admin
-- tokens reach every CA; member tokens (ca_id set) reach that CA and the
-- CAs below it.
CREATE TABLE api_token (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL UNIQUE
			CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$'),
	hash		sha256 NOT NULL UNIQUE,
	admin		boolean NOT NULL,
	ca_id		bigint REFERENCES ca (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz,
	CHECK (admin = (ca_id IS NULL))
);

-- Responses to POST requests that carried an Idempotency-Key header, per
-- token, replayed when the same key comes again with the same request.
CREATE TABLE api_idempotency (
	token_id	bigint NOT NULL REFERENCES api_token (id),
	key		text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	request_hash	sha256 NOT NULL,	-- method, path and body
	status		smallint NOT NULL,
	response	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (token_id, key)
);
CREATE INDEX api_idempotency_created_idx ON api_idempotency (created_at);
