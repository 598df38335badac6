/* Leadership, loading the repository image, and RRDP sessions. */
#include "publish/pub_build_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "common/cm_log.h"
#include "publish/pub_uuid.h"

int
pub_build_try_lead(struct db *db, struct cm_err *err)
{
	struct db_params	 pa;
	struct db_res		*r = NULL;
	int			 rc;

	db_params_init(&pa);
	db_param_int(&pa, PUB_LEADER_LOCK);
	if (db_exec(db, "SELECT pg_try_advisory_lock($1)", &pa, &r, err) != 1)
		return -1;
	rc = strcmp(db_res_text(r, 0, 0), "t") == 0;
	db_res_free(r);
	return rc;
}

/* ---- loading ---- */

static int
cmp_change(const void *a, const void *b)
{
	const struct pub_index_change	*x = a, *y = b;

	return strcmp(x->uri, y->uri);
}

struct load_arg {
	struct pub_build	*b;
	struct pub_index	*ix;
	char			 session[37];
	uint64_t		 serial;
	int			 need_snapshot;	/* the last serial has none */
};

static int
load_index(struct db *db, struct pub_index **out, struct cm_err *err)
{
	struct db_params	 pa;
	struct db_res		*r = NULL;
	struct pub_index_change	*c = NULL;
	struct pub_index	*empty = NULL;
	int			 i, n, rc = -1;

	db_params_init(&pa);
	pa.binary_results = 1;
	n = db_exec(db, "SELECT uri, publisher_id, data FROM pub_object", &pa,
	    &r, err);
	if (n == -1)
		return -1;
	if ((c = calloc(n + 1, sizeof(*c))) == NULL ||
	    (empty = pub_index_new()) == NULL) {
		pub_build_nomem(err, "serial builder");
		goto out;
	}
	for (i = 0; i < n; i++) {
		c[i].uri = db_res_text(r, i, 0);
		if (db_res_int64(r, i, 1, &c[i].publisher, err) == -1 ||
		    db_res_bytea(r, i, 2, &c[i].data, &c[i].len, err) == -1)
			goto out;
	}
	qsort(c, n, sizeof(*c), cmp_change);
	rc = pub_index_apply(empty, c, n, out, err);
out:
	pub_index_free(empty);
	free(c);
	db_res_free(r);
	return rc;
}

/* Ends the current session and starts a new one (no serial yet). */
static int
new_session(struct db *db, char session[37], struct cm_err *err)
{
	struct db_params	pa;

	if (pub_uuid_v4(session, err) == -1)
		return -1;
	if (db_exec(db, "UPDATE rrdp_session SET current = false WHERE current",
	    NULL, NULL, err) == -1)
		return -1;
	db_params_init(&pa);
	db_param_text(&pa, session);
	if (db_exec(db, "INSERT INTO rrdp_session (id) VALUES ($1)", &pa, NULL,
	    err) == -1)
		return -1;
	cm_info("RRDP: new session %s", session);
	return 0;
}

/* 1 if the snapshot of ix equals the stored one (hash h). */
static int
snapshot_matches(const struct pub_index *ix, const char *session,
    uint64_t serial, const uint8_t *h, struct cm_err *err)
{
	struct cm_buf	b = CM_BUF_INIT;
	uint8_t		mine[32];

	if (pub_index_snapshot(ix, session, serial, &b, err) == -1) {
		cm_buf_free(&b);
		return -1;
	}
	cm_sha256(b.data, b.len, mine);
	cm_buf_free(&b);
	return memcmp(mine, h, 32) == 0;
}

/*
 * 1 when ix is the content of the last serial (row r of load_fn()): by the
 * digest recorded with it, or, for rows written before digests existed,
 * by the hash of its snapshot.  0 when not, -1 on error.
 */
static int
state_matches(const struct pub_index *ix, struct load_arg *a,
    struct db_res *r, struct cm_err *err)
{
	const uint8_t	*h;
	uint8_t		 mine[32];
	size_t		 hl;

	if (!db_res_isnull(r, 0, 3)) {
		if (db_res_bytea(r, 0, 3, &h, &hl, err) == -1)
			return -1;
		pub_index_digest(ix, mine);
		return hl == 32 && memcmp(mine, h, 32) == 0;
	}
	if (!db_res_isnull(r, 0, 2)) {
		if (db_res_bytea(r, 0, 2, &h, &hl, err) == -1)
			return -1;
		return snapshot_matches(ix, a->session, a->serial, h, err);
	}
	return 0;
}

static int
load_fn(struct db *db, void *v, struct cm_err *err)
{
	struct load_arg		*a = v;
	struct db_res		*r = NULL;
	int64_t			 s;
	int			 n, rc = -1;

	pub_index_free(a->ix);
	a->ix = NULL;
	a->session[0] = '\0';
	a->serial = 0;
	a->need_snapshot = 0;
	if (load_index(db, &a->ix, err) == -1)
		return -1;
	n = db_exec(db, "SELECT s.id, r.serial, r.snapshot_hash, "
	    "r.state_digest, r.snapshot_uri IS NULL FROM rrdp_session s LEFT "
	    "JOIN rrdp_serial r ON r.session_id = s.id WHERE s.current ORDER "
	    "BY r.serial DESC NULLS LAST LIMIT 1", NULL, &r, err);
	if (n == -1)
		return -1;
	if (n == 1) {
		snprintf(a->session, sizeof(a->session), "%s",
		    db_res_text(r, 0, 0));
		if (!db_res_isnull(r, 0, 1)) {
			if (db_res_int64(r, 0, 1, &s, err) == -1)
				goto out;
			a->serial = (uint64_t)s;
		}
	}
	if (a->serial > 0) {
		if ((n = state_matches(a->ix, a, r, err)) == -1)
			goto out;
		if (n == 0) {
			cm_error("RRDP session %s serial %" PRIu64 ": the "
			    "repository in pub_object no longer gives the "
			    "published content (restored or altered "
			    "database?): STARTING A NEW SESSION, relying "
			    "parties will fetch a fresh snapshot",
			    a->session, a->serial);
			a->session[0] = '\0';
		} else
			a->need_snapshot = strcmp(db_res_text(r, 0, 4),
			    "t") == 0;
	}
	if (a->session[0] == '\0') {
		a->serial = 0;
		a->need_snapshot = 0;
		if (new_session(db, a->session, err) == -1)
			goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

int
pub_build_load(struct pub_build *b, struct db *db, struct cm_err *err)
{
	struct load_arg	a;

	memset(&a, 0, sizeof(a));
	a.b = b;
	if (db_tx(db, NULL, load_fn, &a, err) == -1) {
		pub_index_free(a.ix);
		return cm_err_wrap(err, "RRDP load");
	}
	pub_index_free(b->ix);
	b->ix = a.ix;
	memcpy(b->session, a.session, sizeof(b->session));
	b->serial = a.serial;
	b->loaded = 1;
	if (a.need_snapshot) {
		cm_info("RRDP: serial %" PRIu64 " has no snapshot yet: "
		    "writing it", b->serial);
		pub_build_queue(b, b->ix, b->session, b->serial);
	}
	cm_info("RRDP: session %s serial %" PRIu64 ", %zu objects", b->session,
	    b->serial, pub_index_count(b->ix));
	return 0;
}

int
pub_build_session_current(const struct pub_build *b, struct db *db, struct cm_err *err)
{
	struct db_params	pa;
	int			n;

	db_params_init(&pa);
	db_param_text(&pa, b->session);
	n = db_exec(db, "SELECT 1 FROM rrdp_session WHERE current AND id = $1",
	    &pa, NULL, err);
	return n == -1 ? -1 : n == 1;
}

int
pub_build_reset_session(struct db *db, struct cm_err *err)
{
	if (db_exec(db, "UPDATE rrdp_session SET current = false WHERE current",
	    NULL, NULL, err) == -1)
		return -1;
	cm_warn("RRDP: session ended by the operator; the leader starts a new "
	    "one");
	return 0;
}
