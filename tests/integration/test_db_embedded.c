/*
 * Integration tests of db/ against a real PostgreSQL: the embedded cluster,
 * migrations (from empty, refusal of a newer schema, concurrent starts),
 * parameters and results (bytea with NULs), transactions retried after a
 * serialization failure, LISTEN/NOTIFY, and clear errors for a wrong DSN.
 * One cluster is shared by the tests of this file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_file.h"
#include "db/db.h"
#include "db_testutil.h"

static struct dbt	T;

static int
setup(void **state)
{
	struct cm_err	err;

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

static struct db *
open_db(const char *dsn)
{
	struct cm_err	 err;
	struct db	*db;

	db = db_open(dsn, 5, &err);
	if (db == NULL)
		fprintf(stderr, "db_open: %s\n", err.msg);
	assert_non_null(db);
	return db;
}

/* Creates database name (dropping an old one) and returns its DSN. */
static void
fresh_db(const char *name, char *dsn, size_t len)
{
	struct cm_err	 err;
	struct db	*db = open_db(T.dsn);
	char		 sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	assert_int_not_equal(db_exec(db, sql, NULL, NULL, &err), -1);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_int_not_equal(db_exec(db, sql, NULL, NULL, &err), -1);
	db_close(db);
	dbt_dsn_db(&T, name, dsn, len);
}

static void
test_migrate_from_empty(void **state)
{
	struct cm_err	 err;
	struct db	*db = open_db(T.dsn);
	int		 v = -1, n;

	assert_int_equal(db_schema_version(db, &v, &err), 0);
	assert_int_equal(v, 0);
	n = db_migrate(db, &err);
	if (n == -1)
		fprintf(stderr, "migrate: %s\n", err.msg);
	assert_int_equal(n, db_schema_count());
	assert_int_equal(db_schema_version(db, &v, &err), 0);
	assert_int_equal(v, db_schema_known());
	/* A second start has nothing to do. */
	assert_int_equal(db_migrate(db, &err), 0);
	/* The tables of the initial schema exist and take rows. */
	assert_int_equal(db_exec(db, "INSERT INTO ca (handle, kind, repo_uri) "
	    "VALUES ('ta', 'ta', 'rsync://rpki.example.net/repo/ta/')", NULL,
	    NULL, &err), 1);
	assert_int_equal(db_exec(db, "SELECT * FROM pub_object", NULL, NULL,
	    &err), 0);
	/* A bad ROA max length is refused by the schema. */
	assert_int_equal(db_exec(db, "INSERT INTO roa_config (ca_id, asn, "
	    "prefix, max_length) SELECT id, 65000, '10.0.0.0/8', 33 FROM ca",
	    NULL, NULL, &err), -1);
	assert_int_equal(err.code, CM_EDB);
	assert_string_equal(db_sqlstate(db), "23514");
	assert_non_null(strstr(err.msg, "[SQLSTATE 23514]"));
	db_close(db);
}

static void
test_newer_schema_refused(void **state)
{
	struct cm_err	 err;
	struct db	*db = open_db(T.dsn);

	assert_true(db_migrate(db, &err) >= 0);
	assert_int_equal(db_exec(db, "INSERT INTO cairn_schema (version, name) "
	    "VALUES (9999, 'future')", NULL, NULL, &err), 1);
	assert_int_equal(db_migrate(db, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "9999"));
	assert_non_null(strstr(err.msg, "newer than this program knows"));
	assert_int_equal(db_exec(db, "DELETE FROM cairn_schema WHERE version "
	    "= 9999", NULL, NULL, &err), 1);
	assert_int_equal(db_migrate(db, &err), 0);
	db_close(db);
}

struct conc {
	const char		*dsn;
	pthread_barrier_t	*bar;
	int			 n;
	struct cm_err		 err;
};

static void *
conc_main(void *arg)
{
	struct conc	*c = arg;
	struct db	*db;

	c->n = -1;
	if ((db = db_open(c->dsn, 5, &c->err)) == NULL)
		return NULL;
	pthread_barrier_wait(c->bar);
	c->n = db_migrate(db, &c->err);
	db_close(db);
	return NULL;
}

static void
test_concurrent_migrate(void **state)
{
	enum { N = 4 };
	struct conc		c[N];
	pthread_t		th[N];
	pthread_barrier_t	bar;
	char			dsn[512];
	int			total = 0, v;
	struct cm_err		err;
	struct db		*db;

	fresh_db("conc", dsn, sizeof(dsn));
	pthread_barrier_init(&bar, NULL, N);
	for (int i = 0; i < N; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].dsn = dsn;
		c[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, conc_main, &c[i]),
		    0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < N; i++) {
		if (c[i].n == -1)
			fprintf(stderr, "thread %d: %s\n", i, c[i].err.msg);
		assert_true(c[i].n >= 0);
		total += c[i].n;
	}
	/* Each migration was applied exactly once over all threads. */
	assert_int_equal(total, db_schema_count());
	db = open_db(dsn);
	assert_int_equal(db_schema_version(db, &v, &err), 0);
	assert_int_equal(v, db_schema_known());
	assert_int_equal(db_exec(db, "SELECT 1 FROM cairn_schema", NULL, NULL,
	    &err), db_schema_count());
	db_close(db);
}

static void
test_bytea_roundtrip(void **state)
{
	struct cm_err		 err;
	struct db		*db = open_db(T.dsn);
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct db_stmt		*ins, *sel, *again;
	uint8_t			 blob[1000];
	const uint8_t		*data;
	size_t			 len;
	int64_t			 id;

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);	/* NULs and high bytes */
	assert_int_not_equal(db_exec(db, "CREATE TEMP TABLE b (id int, "
	    "v bytea, t text)", NULL, NULL, &err), -1);
	assert_int_equal(db_prepare(db, "INSERT INTO b VALUES ($1, $2, $3)",
	    &ins, &err), 0);
	assert_int_equal(db_prepare(db, "INSERT INTO b VALUES ($1, $2, $3)",
	    &again, &err), 0);
	assert_ptr_equal(ins, again);
	db_params_init(&p);
	db_param_int(&p, 1);
	db_param_bytea(&p, blob, sizeof(blob));
	db_param_text(&p, "caf\xc3\xa9");
	assert_int_equal(db_exec_stmt(db, ins, &p, NULL, &err), 1);
	db_params_init(&p);
	db_param_int(&p, 2);
	db_param_bytea(&p, blob, 0);		/* empty, not NULL */
	db_param_text(&p, NULL);
	assert_int_equal(db_exec_stmt(db, ins, &p, NULL, &err), 1);

	/* Binary results: the bytes as they are. */
	assert_int_equal(db_prepare(db, "SELECT id, v, t, octet_length(v) "
	    "FROM b ORDER BY id", &sel, &err), 0);
	db_params_init(&p);
	p.binary_results = 1;
	assert_int_equal(db_exec_stmt(db, sel, &p, &r, &err), 2);
	assert_int_equal(db_res_int64(r, 0, 0, &id, &err), 0);
	assert_int_equal(id, 1);
	assert_int_equal(db_res_bytea(r, 0, 1, &data, &len, &err), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(data, blob, sizeof(blob));
	assert_string_equal(db_res_text(r, 0, 2), "caf\xc3\xa9");
	assert_int_equal(db_res_int64(r, 0, 3, &id, &err), 0);
	assert_int_equal(id, 1000);
	assert_int_equal(db_res_bytea(r, 1, 1, &data, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_true(db_res_isnull(r, 1, 2));
	db_res_free(r);

	/* Text results: hex decoded. */
	assert_int_equal(db_exec(db, "SELECT v, id FROM b WHERE id = $1",
	    &p, &r, &err), -1);	/* $1 without a parameter: server error */
	assert_string_equal(db_sqlstate(db), "08P01");
	db_params_init(&p);
	db_param_int(&p, 1);
	assert_int_equal(db_exec(db, "SELECT v, id FROM b WHERE id = $1",
	    &p, &r, &err), 1);
	assert_int_equal(db_res_bytea(r, 0, 0, &data, &len, &err), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(data, blob, sizeof(blob));
	assert_int_equal(db_res_int64(r, 0, 1, &id, &err), 0);
	assert_int_equal(id, 1);
	assert_int_equal(db_res_int64(r, 0, 0, &id, &err), -1);
	db_res_free(r);
	db_close(db);
}

static void
test_unique_violation(void **state)
{
	struct cm_err	 err;
	struct db	*db = open_db(T.dsn);

	assert_int_not_equal(db_exec(db, "CREATE TEMP TABLE u (k int PRIMARY "
	    "KEY)", NULL, NULL, &err), -1);
	assert_int_equal(db_exec(db, "INSERT INTO u VALUES (1)", NULL, NULL,
	    &err), 1);
	assert_int_equal(db_exec(db, "INSERT INTO u VALUES (1)", NULL, NULL,
	    &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_non_null(strstr(err.msg, "23505"));
	assert_non_null(strstr(err.msg, "duplicate key"));
	db_close(db);
}

/* Two transactions update the same row after both took their snapshot. */
struct ser {
	const char		*dsn;
	pthread_barrier_t	*bar;
	int			 attempts;
	int			 rc;
	struct cm_err		 err;
};

static int
ser_body(struct db *db, void *arg, struct cm_err *err)
{
	struct ser	*s = arg;

	if (db_exec(db, "SELECT n FROM counter WHERE id = 1", NULL, NULL,
	    err) != 1)
		return -1;
	if (s->attempts++ == 0)
		pthread_barrier_wait(s->bar);
	return db_exec(db, "UPDATE counter SET n = n + 1 WHERE id = 1", NULL,
	    NULL, err) == 1 ? 0 : -1;
}

static void *
ser_main(void *arg)
{
	struct ser	*s = arg;
	struct db	*db;

	s->rc = -1;
	if ((db = db_open(s->dsn, 5, &s->err)) == NULL)
		return NULL;
	s->rc = db_tx(db, "REPEATABLE READ", ser_body, s, &s->err);
	db_close(db);
	return NULL;
}

static void
test_tx_retry_serialization(void **state)
{
	struct cm_err		 err;
	struct db		*db = open_db(T.dsn);
	struct db_res		*r;
	struct ser		 s[2];
	pthread_t		 th[2];
	pthread_barrier_t	 bar;
	int64_t			 n;

	assert_int_not_equal(db_exec(db, "DROP TABLE IF EXISTS counter; "
	    "CREATE TABLE counter (id int PRIMARY KEY, n int); "
	    "INSERT INTO counter VALUES (1, 0)", NULL, NULL, &err), -1);
	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].dsn = T.dsn;
		s[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, ser_main, &s[i]),
		    0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < 2; i++) {
		if (s[i].rc != 0)
			fprintf(stderr, "tx %d: %s\n", i, s[i].err.msg);
		assert_int_equal(s[i].rc, 0);
	}
	/* One of them hit 40001 once and ran again. */
	assert_int_equal(s[0].attempts + s[1].attempts, 3);
	assert_int_equal(db_exec(db, "SELECT n FROM counter", NULL, &r, &err),
	    1);
	assert_int_equal(db_res_int64(r, 0, 0, &n, &err), 0);
	assert_int_equal(n, 2);
	db_res_free(r);
	db_close(db);
}

static int
fail_body(struct db *db, void *arg, struct cm_err *err)
{
	if (db_exec(db, "INSERT INTO counter VALUES (2, 0)", NULL, NULL,
	    err) != 1)
		return -1;
	return cm_err_set(err, CM_EINVAL, "test", "changed my mind");
}

/* Ignores the error of a statement and claims success. */
static int
sloppy_body(struct db *db, void *arg, struct cm_err *err)
{
	if (db_exec(db, "INSERT INTO counter VALUES (3, 0)", NULL, NULL,
	    err) != 1)
		return -1;
	db_exec(db, "SELECT 1/0", NULL, NULL, err);
	return 0;
}

static int
nested_body(struct db *db, void *arg, struct cm_err *err)
{
	return db_tx(db, NULL, fail_body, NULL, err);
}

static void
test_tx_rollback(void **state)
{
	struct cm_err	 err;
	struct db	*db = open_db(T.dsn);

	assert_int_equal(db_tx(db, NULL, fail_body, NULL, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_string_equal(err.msg, "test: changed my mind");
	assert_int_equal(db_exec(db, "SELECT 1 FROM counter WHERE id = 2",
	    NULL, NULL, &err), 0);
	/* A body that ignored a failed statement does not "commit". */
	assert_int_equal(db_tx(db, NULL, sloppy_body, NULL, &err), -1);
	assert_int_equal(err.code, CM_EDB);
	assert_non_null(strstr(err.msg, "rolled back"));
	assert_int_equal(db_exec(db, "SELECT 1 FROM counter WHERE id = 3",
	    NULL, NULL, &err), 0);
	assert_int_equal(db_tx(db, NULL, nested_body, NULL, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_int_equal(db_tx(db, "READ SLOPPY", fail_body, NULL, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	db_close(db);
}

static void
test_listen_notify(void **state)
{
	struct cm_err		 err;
	struct db		*a = open_db(T.dsn), *b = open_db(T.dsn);
	struct db_notification	*n = NULL;
	double			 t0;

	assert_int_equal(db_listen(a, "cairn_test", &err), 0);
	assert_int_equal(db_listen(a, "cairn_ca", &err), 0);
	assert_int_equal(db_listen(a, "bad-name", &err), -1);
	assert_true(db_socket(a) >= 0);
	t0 = dbt_now();
	assert_int_equal(db_wait(a, 200, &err), 0);
	assert_true(dbt_now() - t0 >= 0.15);
	assert_int_equal(db_next_notification(a, &n, &err), 0);

	assert_int_equal(db_notify(b, "cairn_test", "hello", &err), 0);
	assert_int_equal(db_wait(a, 5000, &err), 1);
	assert_int_equal(db_next_notification(a, &n, &err), 1);
	assert_string_equal(n->channel, "cairn_test");
	assert_string_equal(n->payload, "hello");
	db_notification_free(n);
	assert_int_equal(db_next_notification(a, &n, &err), 0);

	/* The schema's trigger wakes the CA engine on a ROA change. */
	assert_int_equal(db_exec(b, "INSERT INTO roa_config (ca_id, asn, "
	    "prefix, max_length) SELECT id, 65001, '192.0.2.0/24', 24 FROM ca "
	    "WHERE handle = 'ta'", NULL, NULL, &err), 1);
	assert_int_equal(db_wait(a, 5000, &err), 1);
	assert_int_equal(db_next_notification(a, &n, &err), 1);
	assert_string_equal(n->channel, "cairn_ca");
	assert_true(atoi(n->payload) > 0);
	db_notification_free(n);
	db_close(a);
	db_close(b);
}

static void
test_wrong_dsn(void **state)
{
	struct cm_err	 err;
	struct db	*db;
	char		 dsn[512];
	double		 t0;

	t0 = dbt_now();
	db = db_open("host=/nonexistent/cairn port=5432 dbname=cairn", 2, &err);
	assert_null(db);
	assert_int_equal(err.code, CM_EDB);
	assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
	assert_non_null(strstr(err.msg, "/nonexistent/cairn"));

	dbt_dsn_db(&T, "no_such_db", dsn, sizeof(dsn));
	db = db_open(dsn, 2, &err);
	assert_null(db);
	assert_non_null(strstr(err.msg, "no_such_db"));
	assert_non_null(strstr(err.msg, "does not exist"));

	db = db_open("host=127.0.0.1 port=1 dbname=cairn", 2, &err);
	assert_null(db);
	db = db_open("this is not a dsn", 2, &err);
	assert_null(db);
	assert_non_null(strstr(err.msg, "cannot connect"));
	/* An address that does not answer: connect_timeout bounds the wait. */
	db = db_open("host=192.0.2.1 port=5432 dbname=cairn", 2, &err);
	assert_null(db);
	assert_true(dbt_now() - t0 < 15);
}

static void
test_socket_path_too_long(void **state)
{
	struct db_options	 opt;
	struct db_embedded	*e = NULL;
	struct cm_err		 err;
	char			 dir[300];

	snprintf(dir, sizeof(dir), "%s/%0120d", T.dir, 0);
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	assert_int_equal(db_embedded_start(&opt, &e, &err), -1);
	assert_null(e);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "longer than the 107 bytes"));
}

static void
test_bad_setups(void **state)
{
	struct db_options	 opt;
	struct db_embedded	*e = NULL;
	struct cm_err		 err;
	char			 dir[256], path[300];
	FILE			*f;

	/* A cluster of a PostgreSQL version whose binaries are missing. */
	snprintf(dir, sizeof(dir), "%s/old", T.dir);
	snprintf(path, sizeof(path), "%s/pg/data", dir);
	assert_int_equal(cm_mkdirs(path, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/pg/data/PG_VERSION", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("9\n", f);
	fclose(f);
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	assert_int_equal(db_embedded_start(&opt, &e, &err), -1);
	assert_null(e);
	assert_non_null(strstr(err.msg, "created by PostgreSQL 9"));
	assert_non_null(strstr(err.msg, "pg_upgrade"));

	/* As root, PostgreSQL needs an unprivileged user that exists. */
	snprintf(dir, sizeof(dir), "%s/nouser", T.dir);
	opt.data_dir = dir;
	opt.pg_user = "cairn-no-such-user";
	if (geteuid() == 0) {
		assert_int_equal(db_embedded_start(&opt, &e, &err), -1);
		assert_int_equal(err.code, CM_EPERM);
		assert_non_null(strstr(err.msg, "refuses to run as root"));
		assert_non_null(strstr(err.msg, "cairn-no-such-user"));
	} else {
		/* Not root: the option does not matter, the start works. */
		assert_int_equal(db_embedded_start(&opt, &e, &err), 0);
		assert_int_equal(db_embedded_stop(e, &err), 0);
	}
}

struct estart {
	char			 dir[128];
	struct db_embedded	*e;
	struct cm_err		 err;
	int			 rc;
};

static void *
estart_main(void *arg)
{
	struct estart		*s = arg;
	struct db_options	 opt;

	memset(&opt, 0, sizeof(opt));
	opt.data_dir = s->dir;
	s->rc = db_embedded_start(&opt, &s->e, &s->err);
	return NULL;
}

/* Two daemons starting on one fresh directory: one cluster, both use it. */
static void
test_concurrent_embedded_start(void **state)
{
	struct estart	 s[2];
	pthread_t	 th[2];
	struct cm_err	 err;
	struct db	*db;

	for (int i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		snprintf(s[i].dir, sizeof(s[i].dir), "%s/twin", T.dir);
		assert_int_equal(pthread_create(&th[i], NULL, estart_main,
		    &s[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (s[i].rc != 0)
			fprintf(stderr, "start %d: %s\n", i, s[i].err.msg);
		assert_int_equal(s[i].rc, 0);
	}
	assert_string_equal(db_embedded_dsn(s[0].e), db_embedded_dsn(s[1].e));
	assert_non_null(db = db_open(db_embedded_dsn(s[0].e), 5, &err));
	assert_int_equal(db_exec(db, "SELECT 1", NULL, NULL, &err), 1);
	db_close(db);
	db_embedded_free(s[1].e);
	assert_int_equal(db_embedded_stop(s[0].e, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_from_empty),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_concurrent_migrate),
		cmocka_unit_test(test_bytea_roundtrip),
		cmocka_unit_test(test_unique_violation),
		cmocka_unit_test(test_tx_retry_serialization),
		cmocka_unit_test(test_tx_rollback),
		cmocka_unit_test(test_listen_notify),
		cmocka_unit_test(test_wrong_dsn),
		cmocka_unit_test(test_socket_path_too_long),
		cmocka_unit_test(test_bad_setups),
		cmocka_unit_test(test_concurrent_embedded_start),
	};

	return cmocka_run_group_tests_name("db (PostgreSQL integration)",
	    tests, setup, teardown);
}
