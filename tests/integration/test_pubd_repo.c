/*
 * Integration tests of the publication server's repository against a real
 * PostgreSQL: RFC 8181 apply semantics (every error code, all-or-nothing),
 * the serial builder (delta content, snapshot equal to the full state,
 * notification valid with matching hashes), the session kept across a
 * restart and replaced after a content regression, and the mass-withdrawal
 * guard.  Each test uses its own database of one shared cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_clock.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "db_testutil.h"
#include "publish/pub_build.h"
#include "publish/pub_msg.h"
#include "publish/pub_repo.h"
#include "publish/pub_rrdp.h"

static struct dbt	T;

#define BASE	"rsync://127.0.0.1/repo/alice/"
#define RRDP	"https://127.0.0.1:8443/rrdp/"

static int
setup(void **state)
{
	struct cm_err	err;

	cm_log_init("test_pubd_repo", CM_LOG_WARN);
	if (dbt_start(&T, &err) == -1) {
		fprintf(stderr, "embedded start: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	dbt_stop(&T);
	return 0;
}

/* A fresh migrated database with publisher alice; returns the handle. */
static struct db *
fresh(const char *name, struct pub_publisher *p)
{
	struct cm_err	 err;
	struct db	*db;
	char		 sql[128], dsn[512];

	db = db_open(T.dsn, 5, &err);
	assert_non_null(db);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	assert_int_not_equal(db_exec(db, sql, NULL, NULL, &err), -1);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_int_not_equal(db_exec(db, sql, NULL, NULL, &err), -1);
	db_close(db);
	dbt_dsn_db(&T, name, dsn, sizeof(dsn));
	db = db_open(dsn, 5, &err);
	assert_non_null(db);
	assert_true(db_migrate(db, &err) >= 1);
	assert_int_equal(pub_repo_publisher_add(db, "alice", BASE, NULL, 0,
	    NULL, &err), 0);
	assert_int_equal(pub_repo_publisher_get(db, "alice", p, &err), 0);
	return db;
}

/* An object of len bytes derived from seed (RRDP wants >= 100 bytes). */
static uint8_t *
obj(int seed, size_t *len)
{
	uint8_t	*d;
	size_t	 i;

	*len = 200 + seed % 50;
	d = malloc(*len);
	assert_non_null(d);
	for (i = 0; i < *len; i++)
		d[i] = (uint8_t)(seed * 31 + i * 7);
	return d;
}

static void
add_publish(struct pub_msg *q, const char *name, int seed,
    const uint8_t *replaces)
{
	struct cm_err	 err;
	char		 uri[256];
	uint8_t		*d;
	size_t		 len;

	snprintf(uri, sizeof(uri), "%s%s", BASE, name);
	d = obj(seed, &len);
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, name, uri, replaces,
	    d, len, &err), 0);
	free(d);
}

static void
add_withdraw(struct pub_msg *q, const char *name, int seed)
{
	struct cm_err	 err;
	char		 uri[256];
	uint8_t		*d, h[32];
	size_t		 len;

	snprintf(uri, sizeof(uri), "%s%s", BASE, name);
	d = obj(seed, &len);
	cm_sha256(d, len, h);
	free(d);
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, name, uri, h, NULL, 0,
	    &err), 0);
}

static void
hash_of(int seed, uint8_t h[32])
{
	size_t	 len;
	uint8_t	*d = obj(seed, &len);

	cm_sha256(d, len, h);
	free(d);
}

/* Applies q; returns the error code, or -1 for success. */
static int
apply(struct db *db, const struct pub_publisher *p, struct pub_msg *q,
    struct pub_msg **replyp)
{
	struct cm_err	 err;
	struct pub_msg	*reply = NULL;
	int		 code = -1;

	assert_int_equal(pub_repo_apply(db, p, q, &reply, &err), 0);
	assert_non_null(reply);
	if (reply->npdus == 1 && reply->pdus[0].type == PUB_PDU_ERROR) {
		code = reply->pdus[0].error;
		assert_non_null(reply->pdus[0].failed);
	}
	if (replyp != NULL)
		*replyp = reply;
	else
		pub_msg_free(reply);
	pub_msg_free(q);
	return code;
}

static int64_t
count(struct db *db, const char *sql)
{
	struct cm_err	 err;
	struct db_res	*r = NULL;
	int64_t		 v = -1;

	assert_int_equal(db_exec(db, sql, NULL, &r, &err), 1);
	assert_int_equal(db_res_int64(r, 0, 0, &v, &err), 0);
	db_res_free(r);
	return v;
}

static void
test_apply_semantics(void **state)
{
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_apply", &p);
	struct pub_msg		*q, *reply;
	uint8_t			 h[32], bad[32];
	int			 code;

	/* Create two objects. */
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 1, NULL);
	add_publish(q, "b.roa", 2, NULL);
	assert_int_equal(apply(db, &p, q, &reply), -1);
	assert_int_equal(reply->npdus, 2);
	assert_int_equal(reply->pdus[0].type, PUB_PDU_PUBLISH);
	pub_msg_free(reply);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_change"), 2);

	/* Creating an existing object (pending, not yet in pub_object). */
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 3, NULL);
	assert_int_equal(apply(db, &p, q, NULL),
	    PUB_ERR_OBJECT_ALREADY_PRESENT);

	/* Replace with the wrong hash, with the right one. */
	memset(bad, 0xab, sizeof(bad));
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 3, bad);
	assert_int_equal(apply(db, &p, q, NULL),
	    PUB_ERR_NO_OBJECT_MATCHING_HASH);
	hash_of(1, h);
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 3, h);
	assert_int_equal(apply(db, &p, q, NULL), -1);

	/* Withdraw: absent object, wrong hash (the old a.roa), right one. */
	q = pub_msg_new(0);
	add_withdraw(q, "nothing.roa", 1);
	assert_int_equal(apply(db, &p, q, NULL), PUB_ERR_NO_OBJECT_PRESENT);
	q = pub_msg_new(0);
	add_publish(q, "nothing.roa", 1, h);
	assert_int_equal(apply(db, &p, q, NULL), PUB_ERR_NO_OBJECT_PRESENT);
	q = pub_msg_new(0);
	add_withdraw(q, "a.roa", 1);
	assert_int_equal(apply(db, &p, q, NULL),
	    PUB_ERR_NO_OBJECT_MATCHING_HASH);

	/* Outside the base URI; the same URI twice. */
	q = pub_msg_new(0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "x",
	    "rsync://127.0.0.1/repo/bob/x.roa", NULL, (const uint8_t *)"xx",
	    2, NULL), 0);
	assert_int_equal(apply(db, &p, q, NULL), PUB_ERR_PERMISSION_FAILURE);
	q = pub_msg_new(0);
	add_publish(q, "c.roa", 4, NULL);
	add_publish(q, "c.roa", 5, NULL);
	assert_int_equal(apply(db, &p, q, NULL), PUB_ERR_CONSISTENCY_PROBLEM);

	/* All or nothing: a good publish before a failing withdraw. */
	assert_int_equal(count(db, "SELECT count(*) FROM pub_change"), 3);
	q = pub_msg_new(0);
	add_publish(q, "d.roa", 6, NULL);
	add_withdraw(q, "b.roa", 99);
	code = apply(db, &p, q, &reply);
	assert_int_equal(code, PUB_ERR_NO_OBJECT_MATCHING_HASH);
	assert_string_equal(reply->pdus[0].failed->uri, BASE "b.roa");
	assert_non_null(strstr(reply->pdus[0].error_text, "b.roa"));
	pub_msg_free(reply);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_change"), 3);

	/* List sees the pending state: a.roa (seed 3) and b.roa. */
	q = pub_msg_new(0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_LIST, NULL, NULL, NULL, NULL,
	    0, NULL), 0);
	assert_int_equal(apply(db, &p, q, &reply), -1);
	assert_int_equal(reply->npdus, 2);
	assert_string_equal(reply->pdus[0].uri, BASE "a.roa");
	hash_of(3, h);
	assert_memory_equal(reply->pdus[0].hash, h, 32);
	assert_string_equal(reply->pdus[1].uri, BASE "b.roa");
	pub_msg_free(reply);

	/* Withdraw then re-create in later queries. */
	q = pub_msg_new(0);
	add_withdraw(q, "b.roa", 2);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	q = pub_msg_new(0);
	add_publish(q, "b.roa", 7, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	pub_publisher_clear(&p);
	db_close(db);
}

static void
test_publisher_overlap(void **state)
{
	struct cm_err		 err;
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_overlap", &p);

	assert_int_equal(pub_repo_publisher_add(db, "inner", BASE "sub/", NULL,
	    0, NULL, &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_int_equal(pub_repo_publisher_add(db, "outer",
	    "rsync://127.0.0.1/repo/", NULL, 0, NULL, &err), -1);
	assert_int_equal(pub_repo_publisher_add(db, "bob",
	    "rsync://127.0.0.1/repo/bob/", NULL, 0, NULL, &err), 0);
	assert_int_equal(pub_repo_publisher_add(db, "bad handle",
	    "rsync://127.0.0.1/repo/c/", NULL, 0, NULL, &err), -1);
	pub_publisher_clear(&p);
	db_close(db);
}

static struct pub_build *
builder_ret(int64_t retention)
{
	struct cm_err		err;
	struct pub_build_conf	c;
	struct pub_build	*b;

	memset(&c, 0, sizeof(c));
	c.rrdp_base = RRDP;
	c.withdraw_share = 0.10;
	c.guard_min = 10;
	c.retention = retention;
	c.min_history = 4 * 3600;
	b = pub_build_new(&c, &err);
	assert_non_null(b);
	return b;
}

static struct pub_build *
builder(void)
{
	return builder_ret(7200);
}

/*
 * One interval of the leader: the serial (pub_build_step()), then its
 * snapshot and notification (what the worker thread does).
 */
static int
step(struct pub_build *b, struct db *db, struct pub_build_result *res,
    struct cm_err *err)
{
	int	n = pub_build_step(b, db, res, err);

	if (n == 1)
		assert_int_equal(pub_build_snapshot(b, db, NULL, err), 1);
	assert_false(pub_build_snapshot_pending(b));
	return n;
}

/* Fetches the files of serial s and parses them. */
static void
files(struct db *db, const char *session, int64_t s,
    struct pub_rrdp_doc **notif, struct pub_rrdp_doc **snap,
    struct pub_rrdp_doc **delta)
{
	struct cm_err	 err;
	struct db_params pa;
	struct db_res	*r = NULL;
	const uint8_t	*d, *h;
	size_t		 len, hl;
	uint8_t		 mine[32];

	db_params_init(&pa);
	db_param_text(&pa, session);
	db_param_int(&pa, s);
	assert_int_equal(db_exec(db, "SELECT notification, snapshot, "
	    "snapshot_hash, delta, delta_hash, snapshot_uri, delta_uri FROM "
	    "rrdp_serial WHERE session_id = $1 AND serial = $2", &pa, &r,
	    &err), 1);
	assert_int_equal(db_res_bytea(r, 0, 0, &d, &len, &err), 0);
	assert_int_equal(pub_rrdp_parse("notification", d, len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_NOTIFICATION, notif, &err), 0);
	assert_int_equal(db_res_bytea(r, 0, 1, &d, &len, &err), 0);
	assert_int_equal(db_res_bytea(r, 0, 2, &h, &hl, &err), 0);
	cm_sha256(d, len, mine);
	assert_memory_equal(mine, h, 32);
	assert_memory_equal((*notif)->snapshot.hash, h, 32);
	assert_string_equal((*notif)->snapshot.uri, db_res_text(r, 0, 5));
	assert_int_equal(pub_rrdp_parse("snapshot", d, len, PUB_RRDP_MAX_DOC,
	    PUB_RRDP_SNAPSHOT, snap, &err), 0);
	*delta = NULL;
	if (!db_res_isnull(r, 0, 3)) {
		assert_int_equal(db_res_bytea(r, 0, 3, &d, &len, &err), 0);
		assert_int_equal(db_res_bytea(r, 0, 4, &h, &hl, &err), 0);
		cm_sha256(d, len, mine);
		assert_memory_equal(mine, h, 32);
		assert_true((*notif)->ndeltas >= 1);
		assert_int_equal((*notif)->deltas[0].serial, s);
		assert_memory_equal((*notif)->deltas[0].hash, h, 32);
		assert_string_equal((*notif)->deltas[0].uri,
		    db_res_text(r, 0, 6));
		assert_int_equal(pub_rrdp_parse("delta", d, len,
		    PUB_RRDP_MAX_DOC, PUB_RRDP_DELTA, delta, &err), 0);
	}
	db_res_free(r);
}

/* The snapshot equals pub_object, object by object. */
static void
snapshot_is_state(struct db *db, const struct pub_rrdp_doc *snap)
{
	struct cm_err	 err;
	struct db_params pa;
	struct db_res	*r = NULL;
	const uint8_t	*d;
	size_t		 len, i;
	int		 n;

	db_params_init(&pa);
	pa.binary_results = 1;
	n = db_exec(db, "SELECT uri, data FROM pub_object ORDER BY uri "
	    "COLLATE \"C\"", &pa, &r, &err);
	assert_int_equal((size_t)n, snap->nelems);
	for (i = 0; i < snap->nelems; i++) {
		assert_string_equal(snap->elems[i].uri, db_res_text(r, i, 0));
		assert_int_equal(db_res_bytea(r, i, 1, &d, &len, &err), 0);
		assert_int_equal(len, snap->elems[i].len);
		assert_memory_equal(d, snap->elems[i].data, len);
	}
	db_res_free(r);
}

static void
test_serials(void **state)
{
	struct cm_err		 err;
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_serials", &p);
	struct pub_build	*b = builder(), *b2;
	struct pub_build_result	 res;
	struct pub_rrdp_doc	*nf, *sn, *dl;
	struct pub_msg		*q;
	uint8_t			 h[32];
	char			 session[37], name[32];
	int			 i;

	assert_int_equal(pub_build_try_lead(db, &err), 1);
	/* Serial 1 of a new session, with what is pending. */
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 1, NULL);
	add_publish(q, "b.roa", 2, NULL);
	/* Fillers: deltas are listed while they fit in the snapshot size. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%02d.roa", i);
		add_publish(q, name, 100 + i, NULL);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_int_equal(pub_build_serial(b), 1);
	snprintf(session, sizeof(session), "%s", pub_build_session(b));
	files(db, session, 1, &nf, &sn, &dl);
	assert_null(dl);
	assert_int_equal(nf->ndeltas, 0);
	assert_int_equal(sn->nelems, 12);
	snapshot_is_state(db, sn);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	/* Nothing pending: no serial. */
	assert_int_equal(step(b, db, &res, &err), 0);

	/* Serial 2: create c, replace a, withdraw b. */
	q = pub_msg_new(0);
	add_publish(q, "c.roa", 3, NULL);
	hash_of(1, h);
	add_publish(q, "a.roa", 4, h);
	add_withdraw(q, "b.roa", 2);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_int_equal(res.serial, 2);
	files(db, session, 2, &nf, &sn, &dl);
	assert_non_null(dl);
	assert_string_equal(dl->session, session);
	assert_int_equal(dl->nelems, 3);
	assert_string_equal(dl->elems[0].uri, BASE "a.roa");
	assert_true(dl->elems[0].has_hash);
	assert_memory_equal(dl->elems[0].hash, h, 32);
	assert_string_equal(dl->elems[1].uri, BASE "b.roa");
	assert_true(dl->elems[1].withdraw);
	assert_string_equal(dl->elems[2].uri, BASE "c.roa");
	assert_false(dl->elems[2].has_hash);
	assert_int_equal(sn->nelems, 12);
	snapshot_is_state(db, sn);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_change WHERE "
	    "serial IS NULL"), 0);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	pub_rrdp_doc_free(dl);

	/* Serial 3: its notification lists deltas 3 and 2. */
	q = pub_msg_new(0);
	add_publish(q, "d.roa", 5, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);
	files(db, session, 3, &nf, &sn, &dl);
	assert_int_equal(nf->ndeltas, 2);
	assert_int_equal(nf->deltas[1].serial, 2);
	snapshot_is_state(db, sn);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	pub_rrdp_doc_free(dl);

	/* A restarted leader keeps the session and the serial. */
	b2 = builder();
	assert_int_equal(pub_build_load(b2, db, &err), 0);
	assert_string_equal(pub_build_session(b2), session);
	assert_int_equal(pub_build_serial(b2), 3);
	pub_build_free(b2);

	/* A content regression (restore) starts a new session. */
	assert_int_not_equal(db_exec(db, "DELETE FROM pub_object WHERE uri "
	    "LIKE '%d.roa'", NULL, NULL, &err), -1);
	b2 = builder();
	assert_int_equal(step(b2, db, &res, &err), 1);
	assert_string_not_equal(pub_build_session(b2), session);
	assert_int_equal(pub_build_serial(b2), 1);
	files(db, pub_build_session(b2), 1, &nf, &sn, &dl);
	snapshot_is_state(db, sn);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	/* The old leader notices that its session ended. */
	q = pub_msg_new(0);
	add_publish(q, "e.roa", 6, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_string_equal(pub_build_session(b), pub_build_session(b2));
	assert_int_equal(pub_build_serial(b), 2);
	pub_build_free(b2);
	pub_build_free(b);
	pub_publisher_clear(&p);
	db_close(db);
}

static void
test_guard(void **state)
{
	struct cm_err		 err;
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_guard", &p);
	struct pub_build	*b = builder();
	struct pub_build_result	 res;
	struct pub_rrdp_doc	*nf, *sn, *dl;
	struct pub_msg		*q;
	char			 name[32];
	int			 i, n;

	q = pub_msg_new(0);
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "o%02d.roa", i);
		add_publish(q, name, i, NULL);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);

	/* 5 withdrawals: below the minimum, published. */
	q = pub_msg_new(0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "o%02d.roa", i);
		add_withdraw(q, name, i);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 1);

	/* 20 of 55: held, every step, until released. */
	q = pub_msg_new(0);
	for (i = 5; i < 25; i++) {
		snprintf(name, sizeof(name), "o%02d.roa", i);
		add_withdraw(q, name, i);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(step(b, db, &res, &err), 0);
		assert_int_equal(res.held, 20);
		assert_int_equal(pub_build_serial(b), 2);
	}
	assert_int_equal(count(db, "SELECT count(*) FROM pub_hold WHERE "
	    "released_at IS NULL AND reason LIKE '%withdraw 20 of%'"), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_object"), 55);
	assert_int_equal(pub_build_release(db, "test", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_int_equal(res.serial, 3);
	files(db, pub_build_session(b), 3, &nf, &sn, &dl);
	assert_int_equal(dl->nelems, 20);
	assert_int_equal(sn->nelems, 35);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	pub_rrdp_doc_free(dl);

	/* Emptying the repository is held whatever the share. */
	q = pub_msg_new(0);
	for (i = 25; i < 60; i++) {
		snprintf(name, sizeof(name), "o%02d.roa", i);
		add_withdraw(q, name, i);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 0);
	assert_int_equal(res.held, 35);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_hold WHERE "
	    "released_at IS NULL AND reason LIKE '%empty%'"), 1);
	assert_int_equal(pub_build_release(db, "test", &n, &err), 0);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_object"), 0);

	/* A released hold with nothing left to publish does not block. */
	assert_int_not_equal(db_exec(db, "INSERT INTO pub_hold (last_change, "
	    "reason, released_at, released_by) VALUES (0, 'test', now(), "
	    "'test')", NULL, NULL, &err), -1);
	q = pub_msg_new(0);
	add_publish(q, "late.roa", 1, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, &res, &err), 0);
	assert_int_equal(step(b, db, &res, &err), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_hold WHERE "
	    "serial IS NULL AND released_at IS NOT NULL"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_object"), 1);
	pub_build_free(b);
	pub_publisher_clear(&p);
	db_close(db);
}

static struct pub_build *
builder_clock(struct cm_clock *clk, int64_t retention, int64_t min_history)
{
	struct cm_err		err;
	struct pub_build_conf	c;
	struct pub_build	*b;

	memset(&c, 0, sizeof(c));
	c.rrdp_base = RRDP;
	c.withdraw_share = 0.10;
	c.guard_min = 10;
	c.retention = retention;
	c.min_history = min_history;
	c.clock = clk;
	b = pub_build_new(&c, &err);
	assert_non_null(b);
	return b;
}

/* Replaces object name (seed from..to) in one serial, built and notified. */
static void
replace(struct db *db, const struct pub_publisher *p, struct pub_build *b,
    const char *name, int from, int to)
{
	struct cm_err	 err;
	struct pub_msg	*q = pub_msg_new(0);
	uint8_t		 h[32];

	hash_of(from, h);
	add_publish(q, name, to, h);
	assert_int_equal(apply(db, (struct pub_publisher *)p, q, NULL), -1);
	assert_int_equal(step(b, db, NULL, &err), 1);
}

/* The serial of the current notification and its number of deltas. */
static int64_t
notified(struct db *db, size_t *ndeltas)
{
	struct cm_err		 err;
	struct db_res		*r = NULL;
	struct pub_rrdp_doc	*nf = NULL;
	const uint8_t		*d;
	size_t			 len;
	int64_t			 s;

	assert_int_equal(db_exec(db, "SELECT serial, notification FROM "
	    "rrdp_serial WHERE notification IS NOT NULL", NULL, &r, &err), 1);
	assert_int_equal(db_res_int64(r, 0, 0, &s, &err), 0);
	assert_int_equal(db_res_bytea(r, 0, 1, &d, &len, &err), 0);
	assert_int_equal(pub_rrdp_parse("notification", d, len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_NOTIFICATION, &nf, &err), 0);
	assert_int_equal(nf->serial, s);
	if (ndeltas != NULL)
		*ndeltas = nf->ndeltas;
	pub_rrdp_doc_free(nf);
	db_res_free(r);
	return s;
}

/*
 * Delta retention on a simulated clock (serials a minute apart): the
 * listed deltas never outweigh the snapshot (RFC 8182), young or old; a
 * delta that leaves the notification stays stored for the retention, then
 * its bytes go, and rows left without files are deleted.  (min-history
 * against max-deltas is in test_pub_rrdp.)
 */
static void
test_retention(void **state)
{
	struct cm_clock		 clk = CM_CLOCK_REAL;
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_retention", &p);
	struct pub_build	*b;
	struct pub_msg		*q;
	struct cm_err		 err;
	char			 name[32], sql[256];
	size_t			 nd, nd1;
	int64_t			 snap, deltas, t0 = cm_clock_now(NULL);
	int			 i;

	cm_clock_set(&clk, t0);
	b = builder_clock(&clk, 7200, 4 * 3600);
	q = pub_msg_new(0);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "r%d.roa", i);
		add_publish(q, name, i, NULL);
	}
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, NULL, &err), 1);
	/*
	 * 30 serials in 30 minutes: all young, but together larger than the
	 * snapshot, so only the newest that fit are listed.
	 */
	for (i = 0; i < 30; i++) {
		cm_clock_advance(&clk, 60);
		replace(db, &p, b, "r0.roa", i == 0 ? 0 : 1000 + i - 1,
		    1000 + i);
	}
	assert_int_equal(notified(db, &nd), 31);
	assert_true(nd >= 1 && nd < 30);
	snap = count(db, "SELECT octet_length(snapshot) FROM rrdp_serial "
	    "WHERE serial = 31");
	deltas = count(db, "SELECT sum(octet_length(delta)) FROM rrdp_serial");
	assert_true(deltas > snap);	/* the size rule really applied */
	snprintf(sql, sizeof(sql), "SELECT sum(octet_length(delta)) FROM "
	    "rrdp_serial WHERE serial > %d", 31 - (int)nd);
	assert_true(count(db, sql) <= snap);
	snprintf(sql, sizeof(sql), "SELECT sum(octet_length(delta)) FROM "
	    "rrdp_serial WHERE serial > %d", 30 - (int)nd);
	assert_true(count(db, sql) > snap);
	/* Those left are marked but still stored (within the retention). */
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "delta_dropped_at IS NOT NULL AND delta IS NOT NULL"),
	    30 - (int64_t)nd);
	nd1 = nd;

	/* Five hours later: the new delta is young, older ones must fit. */
	cm_clock_advance(&clk, 5 * 3600);
	replace(db, &p, b, "r0.roa", 1029, 2000);
	assert_int_equal(notified(db, &nd), 32);
	assert_true(nd >= 1 && nd < 31);
	/* The listed ones fit, one more would not. */
	snap = count(db, "SELECT octet_length(snapshot) FROM rrdp_serial "
	    "WHERE serial = 32");
	snprintf(sql, sizeof(sql), "SELECT sum(octet_length(delta)) FROM "
	    "rrdp_serial WHERE serial > %d", 32 - (int)nd);
	assert_true(count(db, sql) <= snap);
	snprintf(sql, sizeof(sql), "SELECT sum(octet_length(delta)) FROM "
	    "rrdp_serial WHERE serial > %d", 31 - (int)nd);
	assert_true(count(db, sql) > snap);
	/* Those left now are marked, still stored; so is snapshot 31. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rrdp_serial WHERE "
	    "delta_dropped_at = to_timestamp(%lld) AND delta IS NOT NULL",
	    (long long)cm_clock_now(&clk));
	assert_int_equal(count(db, sql), (int64_t)nd1 + 1 - (int64_t)nd);
	/* Those left 5 h ago are past the retention: their bytes are gone. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rrdp_serial WHERE "
	    "delta IS NOT NULL AND delta_dropped_at < to_timestamp(%lld)",
	    (long long)cm_clock_now(&clk) - 7200);
	assert_int_equal(count(db, sql), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "serial = 31 AND snapshot IS NOT NULL AND snapshot_dropped_at IS "
	    "NOT NULL"), 1);

	/* Within the retention: still stored. */
	cm_clock_advance(&clk, 7200 - 60);
	replace(db, &p, b, "r1.roa", 1, 3000);
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "serial = 31 AND snapshot IS NOT NULL"), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "delta_dropped_at IS NOT NULL AND delta IS NULL"), 0);
	/* Past it: the bytes go, rows left without files too. */
	cm_clock_advance(&clk, 120);
	replace(db, &p, b, "r1.roa", 3000, 3001);
	assert_int_equal(notified(db, NULL), 34);
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "serial = 31 AND snapshot IS NULL AND snapshot_uri IS NOT NULL"),
	    1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rrdp_serial WHERE "
	    "serial <= %d", 31 - (int)nd);
	assert_int_equal(count(db, sql), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM rrdp_serial WHERE "
	    "serial = 32 AND snapshot IS NOT NULL"), 1);
	/* Consumed changes older than the retention are gone too. */
	assert_int_equal(count(db, "SELECT count(*) FROM pub_change WHERE "
	    "serial <= 31"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM pub_object"), 10);
	pub_build_free(b);
	pub_publisher_clear(&p);
	db_close(db);
}

/* The URI of the snapshot of serial s, "" when it has none. */
static void
snap_uri(struct db *db, int64_t s, char *out, size_t size)
{
	struct cm_err	 err;
	struct db_params pa;
	struct db_res	*r = NULL;

	db_params_init(&pa);
	db_param_int(&pa, s);
	assert_int_equal(db_exec(db, "SELECT coalesce(snapshot_uri, '') FROM "
	    "rrdp_serial r JOIN rrdp_session x ON x.id = r.session_id WHERE "
	    "x.current AND serial = $1", &pa, &r, &err), 1);
	snprintf(out, size, "%s", db_res_text(r, 0, 0));
	db_res_free(r);
}

/*
 * Serials are committed before their snapshot: the notification moves
 * only when a snapshot is written, intermediate serials get deltas only,
 * a leader that stopped before the snapshot leaves a job to its successor,
 * and a late writer never gives a serial a second snapshot.
 */
static void
test_snapshot_later(void **state)
{
	struct cm_err		 err;
	struct pub_publisher	 p;
	struct db		*db = fresh("pubd_later", &p);
	struct pub_build	*b = builder(), *b2;
	struct pub_build_snap_result sr;
	struct pub_rrdp_doc	*nf, *sn, *dl;
	struct pub_msg		*q;
	uint8_t			 h[32];
	char			 u1[512], u2[512];

	q = pub_msg_new(0);
	add_publish(q, "a.roa", 1, NULL);
	add_publish(q, "b.roa", 2, NULL);
	add_publish(q, "c.roa", 3, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(step(b, db, NULL, &err), 1);

	/* Serials 2 and 3 without snapshots: notification 1 stays. */
	hash_of(1, h);
	q = pub_msg_new(0);
	add_publish(q, "a.roa", 4, h);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(pub_build_step(b, db, NULL, &err), 1);
	assert_true(pub_build_snapshot_pending(b));
	q = pub_msg_new(0);
	add_withdraw(q, "b.roa", 2);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(pub_build_step(b, db, NULL, &err), 1);
	assert_int_equal(notified(db, NULL), 1);
	snap_uri(db, 3, u1, sizeof(u1));
	assert_string_equal(u1, "");
	/* One snapshot, for the newest serial; deltas 3 and 2 listed. */
	assert_int_equal(pub_build_snapshot(b, db, &sr, &err), 1);
	assert_int_equal(sr.serial, 3);
	assert_int_equal(sr.ndeltas, 2);
	assert_int_equal(pub_build_snapshot(b, db, &sr, &err), 0);
	snap_uri(db, 2, u1, sizeof(u1));
	assert_string_equal(u1, "");
	files(db, pub_build_session(b), 3, &nf, &sn, &dl);
	assert_int_equal(nf->ndeltas, 2);
	assert_int_equal(nf->deltas[1].serial, 2);
	assert_int_equal(sn->nelems, 2);
	snapshot_is_state(db, sn);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	pub_rrdp_doc_free(dl);

	/* The leader stops after serial 4: its successor writes snapshot 4. */
	q = pub_msg_new(0);
	add_publish(q, "d.roa", 5, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(pub_build_step(b, db, NULL, &err), 1);
	b2 = builder();
	assert_int_equal(pub_build_load(b2, db, &err), 0);
	assert_int_equal(pub_build_serial(b2), 4);
	assert_true(pub_build_snapshot_pending(b2));
	assert_int_equal(pub_build_snapshot(b2, db, &sr, &err), 1);
	assert_int_equal(sr.serial, 4);
	files(db, pub_build_session(b2), 4, &nf, &sn, &dl);
	/* Delta 4 and what fits beside it in the small snapshot. */
	assert_true(nf->ndeltas >= 2 && nf->ndeltas <= 3);
	assert_int_equal(nf->deltas[0].serial, 4);
	assert_int_equal(nf->deltas[1].serial, 3);
	snapshot_is_state(db, sn);
	pub_rrdp_doc_free(nf);
	pub_rrdp_doc_free(sn);
	pub_rrdp_doc_free(dl);
	/* The old leader's late job finds it written: no second file. */
	snap_uri(db, 4, u1, sizeof(u1));
	assert_true(pub_build_snapshot_pending(b));
	assert_int_equal(pub_build_snapshot(b, db, &sr, &err), 0);
	assert_false(pub_build_snapshot_pending(b));
	snap_uri(db, 4, u2, sizeof(u2));
	assert_string_equal(u1, u2);

	/* A job older than the served notification is dropped too. */
	q = pub_msg_new(0);
	add_publish(q, "e.roa", 6, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	assert_int_equal(pub_build_step(b2, db, NULL, &err), 1);	/* 5 */
	q = pub_msg_new(0);
	add_publish(q, "f.roa", 7, NULL);
	assert_int_equal(apply(db, &p, q, NULL), -1);
	pub_build_free(b);
	b = builder();
	assert_int_equal(pub_build_load(b, db, &err), 0);	/* job 5 */
	assert_int_equal(step(b2, db, NULL, &err), 1);		/* 6 */
	assert_int_equal(pub_build_snapshot(b, db, &sr, &err), 0);
	snap_uri(db, 5, u1, sizeof(u1));
	assert_string_equal(u1, "");
	assert_int_equal(notified(db, NULL), 6);

	/* A row written before digests: checked by its snapshot's hash. */
	assert_int_not_equal(db_exec(db, "UPDATE rrdp_serial SET state_digest "
	    "= NULL", NULL, NULL, &err), -1);
	pub_build_free(b);
	b = builder();
	assert_int_equal(pub_build_load(b, db, &err), 0);
	assert_string_equal(pub_build_session(b), pub_build_session(b2));
	assert_int_equal(pub_build_serial(b), 6);
	assert_false(pub_build_snapshot_pending(b));
	pub_build_free(b2);
	pub_build_free(b);
	pub_publisher_clear(&p);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_semantics),
		cmocka_unit_test(test_publisher_overlap),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_snapshot_later),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
