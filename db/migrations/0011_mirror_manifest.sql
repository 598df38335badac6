-- 0011_mirror_manifest: the manifest number of a mirrored publication point
-- only grows per manifest (per key of the offline parent): after a trust
-- anchor key roll (RFC 9691) the new key's manifest, with numbers of its
-- own, takes over the same point.
ALTER TABLE mirror_point ADD COLUMN manifest_uri text;
