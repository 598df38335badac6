/*
 * The snapshot and notification of the newest serial, off the leader's
 * critical path: file retention, and the worker thread that runs them.
 */
#include "publish/pub_build_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_enc.h"
#include "common/cm_log.h"
#include "publish/pub_hook.h"
#include "publish/pub_rrdp.h"

void
pub_build_queue(struct pub_build *b, const struct pub_index *ix,
    const char *session, uint64_t serial)
{
	struct pub_index	*old;

	pthread_mutex_lock(&b->mu);
	old = b->job.ix;
	b->job.ix = pub_index_ref(ix);
	snprintf(b->job.session, sizeof(b->job.session), "%s", session);
	b->job.serial = serial;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pub_index_free(old);
}

int
pub_build_snapshot_pending(struct pub_build *b)
{
	int	n;

	pthread_mutex_lock(&b->mu);
	n = b->job.ix != NULL;
	pthread_mutex_unlock(&b->mu);
	return n;
}

/* Takes the job out of b (*j owns its index), or returns 0. */
static int
take_job(struct pub_build *b, struct snap_job *j)
{
	pthread_mutex_lock(&b->mu);
	*j = b->job;
	b->job.ix = NULL;
	pthread_mutex_unlock(&b->mu);
	return j->ix != NULL;
}

/* Puts a failed job back for a retry, unless a newer one arrived. */
static void
give_back(struct pub_build *b, struct snap_job *j)
{
	pthread_mutex_lock(&b->mu);
	if (b->job.ix == NULL) {
		b->job = *j;
		j->ix = NULL;
	}
	pthread_mutex_unlock(&b->mu);
	pub_index_free(j->ix);
	j->ix = NULL;
}

/* The state of one snapshot transaction. */
struct snap_arg {
	struct pub_build	*b;
	const struct snap_job	*job;
	const struct cm_buf	*snap;
	uint8_t			 hash[32];
	char			 uri[512];
	int64_t			 now;
	struct db_res		*prev;
	struct cm_buf		 notif;
	size_t			 ndeltas;
	int			 done;
};

/*
 * 1 when this snapshot may be written: the session is current (its row
 * locked against a concurrent writer), the serial has no snapshot yet, and
 * no notification of a later serial exists.
 */
static int
may_write(struct db *db, struct snap_arg *a, struct cm_err *err)
{
	struct db_params	pa;
	int			n;

	db_params_init(&pa);
	db_param_text(&pa, a->job->session);
	/* NO KEY UPDATE: the leader's inserts (KEY SHARE) do not wait. */
	n = db_exec(db, "SELECT 1 FROM rrdp_session WHERE id = $1 AND current "
	    "FOR NO KEY UPDATE", &pa, NULL, err);
	if (n <= 0)
		return n;
	db_param_int(&pa, (int64_t)a->job->serial);
	n = db_exec(db, "SELECT 1 FROM rrdp_serial WHERE session_id = $1 AND "
	    "serial = $2 AND snapshot_uri IS NULL AND NOT EXISTS (SELECT 1 "
	    "FROM rrdp_serial x WHERE x.session_id = $1 AND x.serial >= $2 "
	    "AND x.notification IS NOT NULL)", &pa, NULL, err);
	return n == -1 ? -1 : n == 1;
}

/*
 * The notification: the new snapshot and the deltas (newest first,
 * contiguous, pub_rrdp_deltas_keep()); files that leave it are marked.
 */
static int
write_notification(struct db *db, struct snap_arg *a, struct cm_err *err)
{
	struct pub_build	*b = a->b;
	struct pub_rrdp_ref	 snap, *d = NULL;
	struct db_params	 pa;
	const uint8_t		*h;
	int64_t			*created = NULL, s, sz;
	size_t			 hl, nd = 0, fit;
	int			 i, n, rc = -1;

	memset(&snap, 0, sizeof(snap));
	snap.uri = a->uri;
	memcpy(snap.hash, a->hash, 32);
	snap.size = a->snap->len;
	db_params_init(&pa);
	db_param_text(&pa, a->job->session);
	db_param_int(&pa, (int64_t)a->job->serial);
	n = db_exec(db, "SELECT serial, delta_uri, delta_hash, "
	    "octet_length(delta), extract(epoch FROM created_at)::bigint FROM "
	    "rrdp_serial WHERE session_id = $1 AND serial <= $2 AND delta IS "
	    "NOT NULL AND delta_dropped_at IS NULL ORDER BY serial DESC", &pa,
	    &a->prev, err);
	if (n == -1)
		return -1;
	if ((d = calloc(n + 1, sizeof(*d))) == NULL ||
	    (created = calloc(n + 1, sizeof(*created))) == NULL) {
		pub_build_nomem(err, "snapshot writer");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (db_res_int64(a->prev, i, 0, &s, err) == -1 ||
		    db_res_int64(a->prev, i, 3, &sz, err) == -1 ||
		    db_res_int64(a->prev, i, 4, &created[nd], err) == -1 ||
		    db_res_bytea(a->prev, i, 2, &h, &hl, err) == -1)
			goto out;
		/* Contiguous from the snapshot's serial down only. */
		if ((uint64_t)s != a->job->serial - nd || hl != 32)
			break;
		d[nd].serial = (uint64_t)s;
		d[nd].uri = db_res_text(a->prev, i, 1);
		memcpy(d[nd].hash, h, 32);
		d[nd].size = (size_t)sz;
		nd++;
	}
	fit = pub_rrdp_deltas_keep(snap.size, d, created, nd,
	    b->conf.max_deltas, a->now, b->conf.min_history);
	if (pub_rrdp_notification(&a->notif, a->job->session, a->job->serial,
	    &snap, d, fit, b->notify_uri, err) == -1)
		goto out;
	a->ndeltas = fit;
	/* Everything older than the oldest listed delta leaves the list. */
	db_params_init(&pa);
	db_param_text(&pa, a->job->session);
	db_param_int(&pa, (int64_t)(fit > 0 ? d[fit - 1].serial :
	    a->job->serial + 1));
	db_param_int(&pa, a->now);
	if (db_exec(db, "UPDATE rrdp_serial SET delta_dropped_at = "
	    "to_timestamp($3) WHERE delta IS NOT NULL AND delta_dropped_at IS "
	    "NULL AND (session_id <> $1 OR serial < $2)", &pa, NULL,
	    err) == -1)
		goto out;
	/* Every other snapshot (this one is written after). */
	db_params_init(&pa);
	db_param_int(&pa, a->now);
	if (db_exec(db, "UPDATE rrdp_serial SET notification = NULL WHERE "
	    "notification IS NOT NULL", NULL, NULL, err) == -1 ||
	    db_exec(db, "UPDATE rrdp_serial SET snapshot_dropped_at = "
	    "to_timestamp($1) WHERE snapshot IS NOT NULL AND "
	    "snapshot_dropped_at IS NULL", &pa, NULL, err) == -1)
		goto out;
	rc = 0;
out:
	free(created);
	free(d);
	return rc;
}

/*
 * Retention: the bytes of files that left the notification a retention
 * ago, rows left without any file (never the newest of a session: it
 * carries the serial number on), and consumed changes (the outbox keeps
 * every version of every object otherwise).
 */
static int
prune(struct db *db, int64_t retention, int64_t now, struct cm_err *err)
{
	struct db_params	pa;

	db_params_init(&pa);
	db_param_int(&pa, now - retention);
	if (db_exec(db, "UPDATE rrdp_serial SET snapshot = NULL, snapshot_hash "
	    "= NULL WHERE snapshot IS NOT NULL AND snapshot_dropped_at < "
	    "to_timestamp($1)", &pa, NULL, err) == -1 ||
	    db_exec(db, "UPDATE rrdp_serial SET delta = NULL, delta_hash = NULL "
	    "WHERE delta IS NOT NULL AND delta_dropped_at < to_timestamp($1)",
	    &pa, NULL, err) == -1 ||
	    db_exec(db, "DELETE FROM rrdp_serial r WHERE snapshot IS NULL AND "
	    "delta IS NULL AND notification IS NULL AND created_at < "
	    "to_timestamp($1) AND serial < (SELECT max(serial) FROM "
	    "rrdp_serial x WHERE x.session_id = r.session_id)", &pa, NULL,
	    err) == -1 ||
	    db_exec(db, "DELETE FROM pub_change WHERE serial IS NOT NULL AND "
	    "created_at < to_timestamp($1)", &pa, NULL, err) == -1)
		return -1;
	return 0;
}

static int
snap_fn(struct db *db, void *v, struct cm_err *err)
{
	struct snap_arg		*a = v;
	struct db_params	 pa;
	char			 payload[64];
	int			 n;

	db_res_free(a->prev);
	a->prev = NULL;
	cm_buf_free(&a->notif);
	a->done = 0;
	a->ndeltas = 0;
	if ((n = may_write(db, a, err)) <= 0)
		return n;
	if (write_notification(db, a, err) == -1)
		return -1;
	db_params_init(&pa);
	db_param_text(&pa, a->job->session);
	db_param_int(&pa, (int64_t)a->job->serial);
	db_param_text(&pa, a->uri);
	db_param_bytea(&pa, a->hash, 32);
	db_param_bytea(&pa, a->snap->data, a->snap->len);
	db_param_bytea(&pa, a->notif.data, a->notif.len);
	if (db_exec(db, "UPDATE rrdp_serial SET snapshot_uri = $3, "
	    "snapshot_hash = $4, snapshot = $5, notification = $6 WHERE "
	    "session_id = $1 AND serial = $2", &pa, NULL, err) != 1) {
		if (err->code == CM_OK)
			cm_err_set(err, CM_EDB, a->uri, "serial row gone");
		return -1;
	}
	if (prune(db, a->b->conf.retention, a->now, err) == -1)
		return -1;
	snprintf(payload, sizeof(payload), "%s %" PRIu64, a->job->session,
	    a->job->serial);
	if (db_notify(db, PUB_RRDP_CHANNEL, payload, err) == -1)
		return -1;
	pub_hook_pause("snapshot", a->job->serial);
	a->done = 1;
	return 0;
}

int
pub_build_snapshot(struct pub_build *b, struct db *db,
    struct pub_build_snap_result *res, struct cm_err *err)
{
	struct snap_job		job;
	struct snap_arg		a;
	double			t0, t1;
	int			rc = -1;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (!take_job(b, &job))
		return 0;
	memset(&a, 0, sizeof(a));
	a.b = b;
	a.job = &job;
	a.snap = &b->snapbuf;
	a.now = cm_clock_now(b->conf.clock);
	t0 = pub_build_now_ms();
	cm_buf_reset(&b->snapbuf);
	/* The O(repository) part, outside any transaction. */
	if (pub_index_snapshot(job.ix, job.session, job.serial, &b->snapbuf,
	    err) == -1 ||
	    pub_rrdp_file_uri(b->base, job.session, job.serial,
	    PUB_RRDP_SNAPSHOT, a.uri, sizeof(a.uri), err) == -1)
		goto out;
	cm_sha256(b->snapbuf.data, b->snapbuf.len, a.hash);
	t1 = pub_build_now_ms();
	if (db_tx(db, NULL, snap_fn, &a, err) == -1) {
		cm_err_wrap(err, "RRDP snapshot");
		goto out;
	}
	if (res != NULL && a.done) {
		res->serial = job.serial;
		res->snapshot_len = b->snapbuf.len;
		res->ndeltas = a.ndeltas;
		res->build_ms = t1 - t0;
		res->store_ms = pub_build_now_ms() - t1;
	}
	if (a.done)
		cm_info("RRDP: notification of serial %" PRIu64 " of session "
		    "%s: snapshot %zu bytes (%.0f ms to build, %.0f ms to "
		    "store), %zu deltas", job.serial, job.session,
		    b->snapbuf.len, t1 - t0, pub_build_now_ms() - t1,
		    a.ndeltas);
	else
		cm_debug("RRDP: snapshot of serial %" PRIu64 " not needed "
		    "(written already, or the session ended)", job.serial);
	rc = a.done;
out:
	if (rc == -1)
		give_back(b, &job);
	pub_index_free(job.ix);
	db_res_free(a.prev);
	cm_buf_free(&a.notif);
	/* Kept for the next snapshot, unless the repository shrank a lot. */
	if (b->snapbuf.cap > 2 * b->snapbuf.len + (64u << 20))
		cm_buf_free(&b->snapbuf);
	return rc;
}

/* ---- the worker thread ---- */

/*
 * Waits ms, or less when stop is set or (jobs) a job is queued.  Returns 0
 * when the worker must stop.
 */
static int
wait_for(struct pub_build *b, long long ms, int jobs)
{
	struct timespec	ts;
	int		go;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->mu);
	while (!b->stop && !(jobs && b->job.ix != NULL) &&
	    pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
		;
	go = !b->stop;
	pthread_mutex_unlock(&b->mu);
	return go;
}

static void *
worker_main(void *arg)
{
	struct pub_build	*b = arg;
	struct cm_err		 err;
	struct db		*db = NULL;

	while (wait_for(b, 60000, 1)) {
		if (!pub_build_snapshot_pending(b))
			continue;
		if (db == NULL && (db = db_open(b->dsn, 10, &err)) == NULL)
			cm_error("snapshot writer: %s", err.msg);
		else if (pub_build_snapshot(b, db, NULL, &err) == -1)
			cm_error("snapshot writer: %s", err.msg);
		else
			continue;
		/* The job is kept: retry in a second. */
		if (!wait_for(b, 1000, 0))
			break;
	}
	db_close(db);
	return NULL;
}

int
pub_build_start_worker(struct pub_build *b, const char *dsn,
    struct cm_err *err)
{
	if (b->has_worker)
		return cm_err_set(err, CM_ESTATE, NULL,
		    "snapshot writer already running");
	if ((b->dsn = strdup(dsn != NULL ? dsn : "")) == NULL)
		return pub_build_nomem(err, "snapshot writer");
	if (pthread_create(&b->worker, NULL, worker_main, b) != 0)
		return cm_err_set(err, CM_EIO, NULL,
		    "snapshot writer: cannot start its thread");
	b->has_worker = 1;
	return 0;
}
