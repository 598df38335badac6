-- 0004_updown: replay protection of RFC 6492 messages (RFC 6492 §3.1): the
-- signing time of the last message accepted from each delegated child; a
-- message that is not newer is refused.
ALTER TABLE ca_child ADD COLUMN last_signing_time timestamptz;
