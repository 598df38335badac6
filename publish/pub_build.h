/*
 * pub_build: the RRDP serial builder of the publication leader.
 *
 * One cairn-pubd process at a time is the leader: the holder of a
 * session-level PostgreSQL advisory lock (pub_build_try_lead()).  Every
 * interval it calls pub_build_step(), which, when pub_change holds pending
 * changes, in ONE transaction whose cost is that of the batch (not of the
 * repository): assigns them the next serial, applies them to pub_object
 * and to the in-memory pub_index, and writes the delta into rrdp_serial.
 *
 * The snapshot and the notification of the newest serial are written
 * afterwards by pub_build_snapshot() (a worker thread of the leader with
 * its own connection, pub_build_start_worker()): it concatenates the
 * snapshot from the index of that serial, stores it in the serial's row,
 * writes the notification (the snapshot and the deltas up to it), marks
 * the files that left it, drops file bytes older than the retention, and
 * sends NOTIFY cairn_rrdp "<session> <serial>".  Serials committed while
 * a snapshot was being built get none: the next notification lists their
 * deltas.  Replicas (and the leader's own server) load the files from
 * rrdp_serial.
 *
 * Session rules: the first leader creates a session (a v4 UUID) with serial
 * 1 (a snapshot, no delta).  A restarted leader keeps the session, unless
 * pub_object no longer matches the digest recorded with the last serial (a
 * restore lost content): then it starts a new session, loudly.  An
 * operator can force one with pub_build_reset_session().
 *
 * Mass-withdrawal guard: a batch that would withdraw more than
 * withdraw_share of one publisher's or of the whole repository's objects
 * (and at least guard_min objects), or that would empty a non-empty
 * repository, is held: nothing is published, a row in pub_hold says why,
 * and an error is logged every interval until an operator releases it
 * (pub_build_release(), "cairn-pubd -c CONF confirm-batch").
 */
#ifndef PUB_BUILD_H
#define PUB_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_clock.h"
#include "common/cm_err.h"
#include "db/db.h"

/* The advisory lock key of the publication leader. */
#define PUB_LEADER_LOCK	INT64_C(435964752494338)
/* NOTIFY channel of new serials; payload "<session> <serial>". */
#define PUB_RRDP_CHANNEL "cairn_rrdp"

struct pub_build_conf {
	const char	*rrdp_base;	/* https://host[:port]/path/ */
	double		 withdraw_share;	/* 0.10 */
	long long	 guard_min;	/* withdrawals below this never trip */
	size_t		 max_deltas;	/* most deltas listed */
	int64_t		 retention;	/* seconds files stay after leaving */
	int64_t		 min_history;	/* seconds of deltas always listed */
	struct cm_clock	*clock;		/* NULL: real time; borrowed */
};

struct pub_build;

/* What one step did. */
struct pub_build_result {
	uint64_t	serial;		/* built serial (0: none) */
	size_t		changes;	/* pending changes consumed */
	size_t		held;		/* changes held by the guard */
	size_t		delta_len;
	double		build_ms;	/* the whole step, transaction included */
};

/* What one pub_build_snapshot() did. */
struct pub_build_snap_result {
	uint64_t	serial;		/* serial of the notification (0: none) */
	size_t		snapshot_len;
	size_t		ndeltas;	/* deltas listed */
	double		build_ms;	/* concatenation and SHA-256 */
	double		store_ms;	/* the transaction */
};

/*
 * conf strings are copied (the clock is borrowed).  Returns NULL with err
 * on failure.
 */
struct pub_build *pub_build_new(const struct pub_build_conf *conf,
	    struct cm_err *err);
void	pub_build_free(struct pub_build *b);		/* NULL is ok */

/*
 * Tries to take the leader lock on db (a connection kept open by the
 * leader; the lock goes with it).  Returns 1 when this connection holds it,
 * 0 when another does, -1 on error.
 */
int	pub_build_try_lead(struct db *db, struct cm_err *err);

/*
 * Loads the session and the repository image from db, creating the session
 * (serial 1 follows at the next step) when there is none, or when
 * pub_object does not match the last serial.  A last serial without a
 * snapshot (the previous leader stopped before writing it) becomes a
 * snapshot job.  Returns 0 or -1.
 */
int	pub_build_load(struct pub_build *b, struct db *db, struct cm_err *err);

/*
 * One interval of the leader (loads first when needed): builds the next
 * serial if changes are pending and not held.  res may be NULL.  Returns 1
 * when a serial was built, 0 when not, -1 on error (the image is then
 * reloaded at the next step).
 */
int	pub_build_step(struct pub_build *b, struct db *db,
	    struct pub_build_result *res, struct cm_err *err);

/*
 * Writes the snapshot and the notification of the newest serial committed
 * by pub_build_step() or found without a snapshot by pub_build_load(), if
 * not done yet.  May run in another thread than pub_build_step(), with
 * another connection.  Does nothing when the session ended or another
 * process already wrote that serial's snapshot (a serial never gets two).
 * res may be NULL.  Returns 1 when a notification was written, 0 when
 * there was nothing to do, -1 on error (the job is kept for a retry unless
 * a newer serial replaced it).
 */
int	pub_build_snapshot(struct pub_build *b, struct db *db,
	    struct pub_build_snap_result *res, struct cm_err *err);

/* 1 when a snapshot job is waiting for pub_build_snapshot(). */
int	pub_build_snapshot_pending(struct pub_build *b);

/*
 * Starts the worker thread that runs pub_build_snapshot() on its own
 * connection to dsn (copied) whenever a job is queued; pub_build_free()
 * stops and joins it.  Returns 0 or -1.
 */
int	pub_build_start_worker(struct pub_build *b, const char *dsn,
	    struct cm_err *err);

/* The current session (v4 UUID) and serial; "" and 0 before loading. */
const char *pub_build_session(const struct pub_build *b);
uint64_t pub_build_serial(const struct pub_build *b);

/*
 * Releases every held batch (operator command); who is recorded.  *n (may
 * be NULL) gets the number released.  Returns 0 or -1.
 */
int	pub_build_release(struct db *db, const char *who, int *n,
	    struct cm_err *err);

/*
 * Ends the current session: the next leader load starts a new one (serial
 * 1, full snapshot).  Returns 0 or -1.
 */
int	pub_build_reset_session(struct db *db, struct cm_err *err);

#endif
