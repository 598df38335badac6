/*
 * What operators and monitoring read (worker thread): the repository's
 * status and its problems, one CA's status, the audit log across CAs, and
 * the Prometheus metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/cm_buf.h"

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A pending change older than this means publication is stuck. */
#define LAG_PROBLEM	"300"
/*
 * Objects expiring within this are a problem: their re-issue failed or is
 * late (by default manifests are re-issued with a day or more to go).
 */
#define EXPIRY_PROBLEM	"3600"
/* An offline parent's manifest this close to its nextUpdate (7 days). */
#define OFFLINE_PROBLEM	"604800"
/* Re-issue this late means the engine does not keep up or fails. */
#define OVERDUE_PROBLEM	"600"

static json_t *
ts_or_null(const struct db_res *r, int row, int col)
{
	return db_res_isnull(r, row, col) ? json_null() :
	    json_string(db_res_text(r, row, col));
}

static json_int_t
int_of(const struct db_res *r, int row, int col)
{
	return (json_int_t)atoll(db_res_text(r, row, col));
}

static void
problem(json_t *arr, const char *code, const char *fmt, const char *a,
    const char *b)
{
	char	msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	json_array_append_new(arr, json_pack("{s:s, s:s}", "code", code,
	    "message", msg));
}

/* ---- GET /status ---- */

int
api_r_status(struct api_call *c)
{
	struct db_res		*r = NULL;
	struct hsm_pool_stats	 ps;
	json_t			*o, *probs, *rrdp = json_null();
	int			 n;

	if ((n = api_query(c, "SELECT s.session_id::text, s.serial, "
	    TS("s.created_at") ", extract(epoch FROM now() - s.created_at)"
	    "::bigint FROM rrdp_serial s JOIN rrdp_session x ON x.id = "
	    "s.session_id AND x.current ORDER BY s.serial DESC LIMIT 1", NULL,
	    &r)) < 0)
		return -n;
	if (n == 1)
		rrdp = json_pack("{s:s, s:I, s:s, s:I}", "session",
		    db_res_text(r, 0, 0), "serial", int_of(r, 0, 1),
		    "published_at", db_res_text(r, 0, 2), "age_seconds",
		    int_of(r, 0, 3));
	db_res_free(r);
	r = NULL;
	if ((n = api_query(c, "SELECT "
	    "(SELECT count(*) FROM pub_change WHERE serial IS NULL), "
	    "(SELECT " TS("min(created_at)") " FROM pub_change WHERE serial IS "
	    "NULL), "
	    "(SELECT coalesce(extract(epoch FROM now() - min(created_at))"
	    "::bigint, 0) FROM pub_change WHERE serial IS NULL), "
	    "(SELECT count(*) FROM pub_hold WHERE released_at IS NULL), "
	    "(SELECT " TS("min(reissue_at)") " FROM issued_object WHERE "
	    "withdrawn_at IS NULL), "
	    "(SELECT count(*) FROM issued_object WHERE withdrawn_at IS NULL AND "
	    "reissue_at < now() - interval '" OVERDUE_PROBLEM " seconds'), "
	    "(SELECT count(*) FROM issued_object WHERE withdrawn_at IS NULL), "
	    "(SELECT " TS("min(not_after)") " FROM issued_object WHERE "
	    "withdrawn_at IS NULL), "
	    "(SELECT count(*) FROM issued_object WHERE withdrawn_at IS NULL AND "
	    "not_after < now() + interval '" EXPIRY_PROBLEM " seconds'), "
	    "(SELECT count(*) FROM ca WHERE deleted_at IS NULL), "
	    "(SELECT count(*) FROM mirror_point WHERE next_update < now() + "
	    "interval '" OFFLINE_PROBLEM " seconds'), "
	    "(SELECT " TS("min(next_update)") " FROM mirror_point)", NULL,
	    &r)) < 0) {
		json_decref(rrdp);
		return -n;
	}
	probs = json_array();
	if (int_of(r, 0, 2) > atoll(LAG_PROBLEM))
		problem(probs, "publication_lag", "the oldest pending change "
		    "waits since %s (%s s): is a cairn-pubd leader running?",
		    db_res_text(r, 0, 1), db_res_text(r, 0, 2));
	if (int_of(r, 0, 3) > 0)
		problem(probs, "publication_held", "%s batch(es) held by the "
		    "mass-withdrawal guard%s (cairn-pubd confirm-batch)",
		    db_res_text(r, 0, 3), "");
	if (int_of(r, 0, 5) > 0)
		problem(probs, "reissue_overdue", "%s object(s) are more than "
		    "%s s past their re-issue time", db_res_text(r, 0, 5),
		    OVERDUE_PROBLEM);
	if (int_of(r, 0, 8) > 0)
		problem(probs, "expiring", "%s object(s) expire within %s s",
		    db_res_text(r, 0, 8), EXPIRY_PROBLEM);
	if (int_of(r, 0, 10) > 0)
		problem(probs, "offline_parent_due", "the manifest of an offline "
		    "parent published here expires at %s: import a response "
		    "from it (docs/offline-ta.md)%s", db_res_text(r, 0, 11), "");
	o = json_pack("{s:o, s:{s:I, s:o, s:I, s:I}, s:{s:o, s:I}, "
	    "s:{s:I, s:o, s:I}, s:I, s:o}",
	    "rrdp", rrdp,
	    "publication", "pending", int_of(r, 0, 0), "oldest_pending_at",
	    ts_or_null(r, 0, 1), "lag_seconds", int_of(r, 0, 2),
	    "held_batches", int_of(r, 0, 3),
	    "reissue", "next_at", ts_or_null(r, 0, 4), "overdue",
	    int_of(r, 0, 5),
	    "objects", "current", int_of(r, 0, 6), "earliest_not_after",
	    ts_or_null(r, 0, 7), "expiring", int_of(r, 0, 8),
	    "cas", int_of(r, 0, 9), "problems", probs);
	db_res_free(r);
	if (o != NULL && c->pool != NULL) {
		hsm_pool_stats(c->pool, &ps);
		json_object_set_new(o, "key_pool", json_pack("{s:I, s:I}",
		    "level", (json_int_t)ps.level, "capacity",
		    (json_int_t)ps.capacity));
	}
	return api_ok(c, 200, o);
}

/* ---- GET /cas/{handle}/status ---- */

int
api_r_ca_status(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL, *k = NULL;
	json_t			*o, *probs, *kinds;
	int64_t			 id;
	int			 n, i, st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	db_params_init(&p);
	db_param_int(&p, id);
	/* The CA publishes as publisher "handle" (ca/engine.h). */
	if ((n = api_query(c, "WITH pb AS (SELECT pb.id FROM publisher pb JOIN "
	    "ca ON ca.handle = pb.handle WHERE ca.id = $1) SELECT "
	    "(SELECT greatest((SELECT max(serial) FROM pub_object WHERE "
	    "publisher_id = (SELECT id FROM pb)), (SELECT max(serial) FROM "
	    "pub_change WHERE publisher_id = (SELECT id FROM pb))))::text, "
	    "(SELECT count(*) FROM pub_change WHERE serial IS NULL AND "
	    "publisher_id = (SELECT id FROM pb)), "
	    "(SELECT coalesce(extract(epoch FROM now() - min(created_at))"
	    "::bigint, 0) FROM pub_change WHERE serial IS NULL AND "
	    "publisher_id = (SELECT id FROM pb)), "
	    "(SELECT " TS("min(reissue_at)") " FROM issued_object WHERE ca_id = "
	    "$1 AND withdrawn_at IS NULL), "
	    "(SELECT count(*) FROM issued_object WHERE ca_id = $1 AND "
	    "withdrawn_at IS NULL AND reissue_at < now() - interval '"
	    OVERDUE_PROBLEM " seconds'), "
	    "(SELECT " TS("min(not_after)") " FROM issued_object WHERE ca_id = "
	    "$1 AND withdrawn_at IS NULL), "
	    "(SELECT count(*) FROM issued_object WHERE ca_id = $1 AND "
	    "withdrawn_at IS NULL AND not_after < now() + interval '"
	    EXPIRY_PROBLEM " seconds'), "
	    "(SELECT " TS("min(o.not_after)") " FROM issued_object o JOIN "
	    "ca_key k ON k.cert_uri = o.uri WHERE k.ca_id = $1 AND k.state <> "
	    "'revoked' AND o.withdrawn_at IS NULL)", &p, &r)) < 0)
		return -n;
	if ((n = api_query(c, "SELECT kind, count(*) FROM issued_object WHERE "
	    "ca_id = $1 AND withdrawn_at IS NULL GROUP BY kind ORDER BY kind",
	    &p, &k)) < 0) {
		db_res_free(r);
		return -n;
	}
	kinds = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(kinds, db_res_text(k, i, 0),
		    json_integer(int_of(k, i, 1)));
	db_res_free(k);
	probs = json_array();
	if (int_of(r, 0, 2) > atoll(LAG_PROBLEM))
		problem(probs, "publication_lag", "%s change(s) wait %s s for "
		    "publication", db_res_text(r, 0, 1), db_res_text(r, 0, 2));
	if (int_of(r, 0, 4) > 0)
		problem(probs, "reissue_overdue", "%s object(s) are more than "
		    "%s s past their re-issue time", db_res_text(r, 0, 4),
		    OVERDUE_PROBLEM);
	if (int_of(r, 0, 6) > 0)
		problem(probs, "expiring", "%s object(s) expire within %s s",
		    db_res_text(r, 0, 6), EXPIRY_PROBLEM);
	o = json_pack("{s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
	    "handle", c->params[0],
	    "last_serial", db_res_isnull(r, 0, 0) ? json_null() :
	    json_integer(int_of(r, 0, 0)),
	    "pending", int_of(r, 0, 1), "lag_seconds", int_of(r, 0, 2),
	    "next_reissue_at", ts_or_null(r, 0, 3),
	    "earliest_not_after", ts_or_null(r, 0, 5),
	    "certificate_not_after", ts_or_null(r, 0, 7),
	    "objects", kinds, "problems", probs);
	db_res_free(r);
	return api_ok(c, 200, o);
}

/* ---- GET /history ---- */

int
api_limit(struct api_call *c, const char *lim, long *limit)
{
	char	*end;

	*limit = 100;
	if (lim == NULL)
		return 0;
	*limit = strtol(lim, &end, 10);
	if (*lim == '\0' || *end != '\0' || *limit < 1 || *limit > 1000)
		return api_error(c, 422, "invalid", "limit", "limit must be 1 "
		    "to 1000");
	return 0;
}

int
api_history_error(struct api_call *c, const char *since,
    const struct cm_err *err)
{
	/* 22xxx: a time the database cannot read. */
	if (strncmp(db_sqlstate(c->db), "22", 2) == 0)
		return api_error(c, 422, "invalid", since != NULL ? "since" :
		    "until", "since and until are times "
		    "(2026-11-23T17:00:00Z)");
	return api_error_err(c, err, NULL);
}

int
api_r_history_all(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	char			*ca = api_qparam(c, "ca"),
				*actor = api_qparam(c, "actor"),
				*since = api_qparam(c, "since"),
				*until = api_qparam(c, "until"),
				*lim = api_qparam(c, "limit"),
				*before = api_qparam(c, "before"), *end;
	long			 limit = 100;
	long long		 bef = 0;
	json_t			*arr, *o;
	int64_t			 id = 0;
	int			 n, i, st = 0;

	if ((st = api_limit(c, lim, &limit)) != 0)
		goto out;
	if (before != NULL) {
		bef = strtoll(before, &end, 10);
		if (*before == '\0' || *end != '\0' || bef < 1) {
			st = api_error(c, 422, "invalid", "before", "before must "
			    "be the id of a history entry");
			goto out;
		}
	}
	/* Admins may ask for deleted CAs too; members only see their own. */
	if (ca != NULL && !c->who.admin &&
	    (st = api_ca_visible(c, ca, &id, "ca")) != 0)
		goto out;
	db_params_init(&p);
	db_param_int(&p, c->who.admin ? 0 : c->who.ca_id);
	db_param_text(&p, ca);
	db_param_text(&p, actor);
	db_param_text(&p, since);
	db_param_text(&p, until);
	db_param_int(&p, limit + 1);
	db_param_int(&p, bef);
	n = db_exec(c->db, "WITH RECURSIVE sub(id) AS (SELECT $1::bigint UNION "
	    "ALL SELECT ca.id FROM ca JOIN sub ON ca.parent_id = sub.id) "
	    "SELECT a.id, " TS("a.at") ", a.actor, a.action, a.object, "
	    "c.handle FROM audit_log a LEFT JOIN ca c ON c.id = a.ca_id WHERE "
	    "($1 = 0 OR a.ca_id IN (SELECT id FROM sub)) AND "
	    "($2::text IS NULL OR c.handle = $2) AND "
	    "($3::text IS NULL OR a.actor = $3) AND "
	    "($4::timestamptz IS NULL OR a.at >= $4::timestamptz) AND "
	    "($5::timestamptz IS NULL OR a.at < $5::timestamptz) AND "
	    "($7 = 0 OR a.id < $7) ORDER BY a.id DESC LIMIT $6", &p, &r, &err);
	if (n == -1) {
		st = api_history_error(c, since, &err);
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n && i < limit; i++)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, "
		    "s:o}", "id", int_of(r, i, 0), "at", db_res_text(r, i, 1),
		    "actor", db_res_text(r, i, 2), "action", db_res_text(r, i, 3),
		    "object", db_res_text(r, i, 4), "ca", db_res_isnull(r, i, 5) ?
		    json_null() : json_string(db_res_text(r, i, 5))));
	o = json_pack("{s:o, s:o}", "history", arr, "next", n > limit ?
	    json_integer(int_of(r, (int)limit - 1, 0)) : json_null());
	db_res_free(r);
	st = api_ok(c, 200, o);
out:
	free(ca);
	free(actor);
	free(since);
	free(until);
	free(lim);
	free(before);
	return st;
}

/* ---- GET /metrics ---- */

static void
gauge(struct cm_buf *b, const char *name, const char *help, const char *value)
{
	cm_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help,
	    name, name, value);
}

/* Rows of (label value, number) as one labelled gauge. */
static int
gauge_rows(struct api_call *c, struct cm_buf *b, const char *name,
    const char *help, const char *label, const char *sql)
{
	struct db_res	*r = NULL;
	int		 n, i;

	if ((n = api_query(c, sql, NULL, &r)) < 0)
		return n;
	cm_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (i = 0; i < n; i++)
		if (!db_res_isnull(r, i, 1))
			cm_buf_printf(b, "%s{%s=\"%s\"} %s\n", name, label,
			    db_res_text(r, i, 0), db_res_text(r, i, 1));
	db_res_free(r);
	return 0;
}

#define KINDS	"(VALUES ('cer'), ('crl'), ('mft'), ('roa'), ('asa'), " \
		"('gbr')) k(kind)"

int
api_r_metrics(struct api_call *c)
{
	struct db_res		*r = NULL;
	struct cm_buf		 b = CM_BUF_INIT;
	struct hsm_pool_stats	 ps;
	char			 v[32];
	int			 n;

	if ((n = gauge_rows(c, &b, "cairn_issued_objects", "Current (not "
	    "withdrawn) signed objects by kind.", "kind", "SELECT k.kind, "
	    "(SELECT count(*) FROM issued_object o WHERE o.withdrawn_at IS NULL "
	    "AND o.kind = k.kind) FROM " KINDS " ORDER BY 1")) < 0 ||
	    (n = gauge_rows(c, &b, "cairn_expiry_horizon_seconds", "Seconds "
	    "until the earliest notAfter of the current objects, by kind.",
	    "kind", "SELECT k.kind, (SELECT extract(epoch FROM min(o.not_after) "
	    "- now())::bigint FROM issued_object o WHERE o.withdrawn_at IS NULL "
	    "AND o.kind = k.kind) FROM " KINDS " ORDER BY 1")) < 0)
		goto fail;
	if ((n = api_query(c, "SELECT "
	    "(SELECT count(*) FROM pub_change WHERE serial IS NULL), "
	    "(SELECT coalesce(extract(epoch FROM now() - min(created_at))"
	    "::bigint, 0) FROM pub_change WHERE serial IS NULL), "
	    "(SELECT coalesce(extract(epoch FROM min(not_after))::bigint::text, "
	    "'') FROM issued_object WHERE withdrawn_at IS NULL), "
	    "(SELECT count(*) FROM ca WHERE deleted_at IS NULL), "
	    "(SELECT count(*) FROM issued_object WHERE withdrawn_at IS NULL AND "
	    "reissue_at <= now()), "
	    "(SELECT count(*) FROM pub_hold WHERE released_at IS NULL), "
	    "(SELECT coalesce(max(s.serial), 0) FROM rrdp_serial s JOIN "
	    "rrdp_session x ON x.id = s.session_id AND x.current), "
	    "(SELECT coalesce(extract(epoch FROM now() - max(s.created_at))"
	    "::bigint, 0) FROM rrdp_serial s JOIN rrdp_session x ON x.id = "
	    "s.session_id AND x.current)", NULL, &r)) < 0)
		goto fail;
	gauge(&b, "cairn_publication_pending", "Publication intents not yet in "
	    "an RRDP serial (the outbox queue).", db_res_text(r, 0, 0));
	gauge(&b, "cairn_publication_lag_seconds", "Age of the oldest "
	    "publication intent not yet in an RRDP serial (0: none).",
	    db_res_text(r, 0, 1));
	if (*db_res_text(r, 0, 2) != '\0')
		gauge(&b, "cairn_objects_earliest_not_after_seconds", "Earliest "
		    "notAfter of the current objects (Unix time).",
		    db_res_text(r, 0, 2));
	gauge(&b, "cairn_cas", "Certificate authorities.", db_res_text(r, 0, 3));
	gauge(&b, "cairn_reissue_due", "Current objects at or past their "
	    "re-issue time (the re-issue queue).", db_res_text(r, 0, 4));
	gauge(&b, "cairn_publication_held_batches", "Batches held by the "
	    "mass-withdrawal guard.", db_res_text(r, 0, 5));
	gauge(&b, "cairn_rrdp_serial", "Last RRDP serial of the current "
	    "session (0: none).", db_res_text(r, 0, 6));
	gauge(&b, "cairn_rrdp_serial_age_seconds", "Seconds since the last "
	    "RRDP serial was built.", db_res_text(r, 0, 7));
	db_res_free(r);
	snprintf(v, sizeof(v), "%zu", c->queued);
	gauge(&b, "cairn_api_queue_depth", "API requests waiting for the "
	    "worker.", v);
	if (c->pool != NULL) {
		hsm_pool_stats(c->pool, &ps);
		snprintf(v, sizeof(v), "%zu", ps.level);
		gauge(&b, "cairn_key_pool_level", "One-time EE keys ready.", v);
		snprintf(v, sizeof(v), "%zu", ps.capacity);
		gauge(&b, "cairn_key_pool_capacity", "Size of the EE key pool.",
		    v);
	}
	if (cm_buf_add(&b, "", 1) == -1) {
		cm_buf_free(&b);
		return api_error(c, 500, "internal", NULL, "out of memory");
	}
	c->text = (char *)cm_buf_steal(&b, NULL);
	c->status = 200;
	return 200;
fail:
	cm_buf_free(&b);
	return -n;
}
