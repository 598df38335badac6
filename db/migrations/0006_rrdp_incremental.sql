-- 0006_rrdp_incremental: RRDP serials built in two steps.  The leader
-- commits serial N with its delta and the changes to pub_object (cost of
-- the batch); the snapshot and the notification of the newest serial are
-- written afterwards, off the leader's critical path, into the same row.
-- Intermediate serials may never get a snapshot (snapshot_uri stays NULL);
-- a row whose snapshot bytes were dropped keeps its snapshot_uri, so that
-- no second snapshot is ever written for one serial.

-- The order-independent digest of the repository at this serial (see
-- publish/pub_index.h), written with the delta: a restarted leader
-- compares it with pub_object even when the snapshot is not built yet.
ALTER TABLE rrdp_serial ADD COLUMN state_digest sha256;

