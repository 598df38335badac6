/*
 * Integration tests of db/ when things break: the server restarts in the
 * middle of a transaction, the postmaster is killed with SIGKILL (stale
 * postmaster.pid), a backend is killed mid-transaction, and a client
 * process is killed mid-transaction.  Committed rows must survive, rows of
 * unfinished transactions must not appear, and the caller sees CM_ERETRY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "db_testutil.h"

static struct dbt	T;

static int
setup(void **state)
{
	struct cm_err	 err;
	struct db	*db;
	int		 rc;

	if (dbt_start(&T, &err) == -1) {
		fprintf(stderr, "embedded start: %s\n", err.msg);
		return -1;
	}
	if ((db = db_open(T.dsn, 5, &err)) == NULL)
		return -1;
	/* A group and its parts are written in one transaction. */
	rc = db_exec(db, "CREATE TABLE grp (g int PRIMARY KEY); "
	    "CREATE TABLE part (g int NOT NULL REFERENCES grp, k int NOT NULL, "
	    "data bytea NOT NULL, PRIMARY KEY (g, k))", NULL, NULL, &err);
	db_close(db);
	return rc == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
	dbt_stop(&T);
	return 0;
}

#define NPARTS	4

struct grp_arg {
	int	g;
	int	(*hook)(struct db *, void *);	/* after the first part */
	void	*hook_arg;
};

static int
grp_body(struct db *db, void *arg, struct cm_err *err)
{
	struct grp_arg		*a = arg;
	struct db_params	 p;
	uint8_t			 blob[2048];

	memset(blob, 0, sizeof(blob));
	db_params_init(&p);
	db_param_int(&p, a->g);
	if (db_exec(db, "INSERT INTO grp VALUES ($1)", &p, NULL, err) != 1)
		return -1;
	for (int k = 0; k < NPARTS; k++) {
		blob[0] = (uint8_t)k;
		db_params_init(&p);
		db_param_int(&p, a->g);
		db_param_int(&p, k);
		db_param_bytea(&p, blob, sizeof(blob));
		if (db_exec(db, "INSERT INTO part VALUES ($1, $2, $3)", &p,
		    NULL, err) != 1)
			return -1;
		if (k == 0 && a->hook != NULL && a->hook(db, a->hook_arg) == -1)
			return cm_err_set(err, CM_EIO, "test", "hook failed");
	}
	return 0;
}

/* Runs group g until it commits, retrying CM_ERETRY; counts the retries. */
static int
write_group(struct db *db, struct grp_arg *a, int *retries,
    struct cm_err *err)
{
	for (int i = 0; i < 150; i++) {
		if (db_tx(db, NULL, grp_body, a, err) == 0)
			return 0;
		if (err->code != CM_ERETRY)
			return -1;
		(*retries)++;
		a->hook = NULL;		/* break things once only */
		usleep(200000);
	}
	return -1;
}

/* Every group has all its parts; returns the number of groups or -1. */
static int
check_groups(struct db *db)
{
	struct cm_err	 err;
	char		 sql[96];
	int		 n = -1;

	for (int i = 0; i < 150; i++) {
		n = db_exec(db, "SELECT g FROM grp", NULL, NULL, &err);
		if (n >= 0 || err.code != CM_ERETRY)
			break;
		usleep(200000);
	}
	if (n < 0)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT g FROM part GROUP BY g HAVING "
	    "count(*) <> %d", NPARTS);
	assert_int_equal(db_exec(db, sql, NULL, NULL, &err), 0);
	assert_int_equal(db_exec(db, "SELECT 1 FROM part", NULL, NULL, &err),
	    n * NPARTS);
	return n;
}

static int
present(struct db *db, int g)
{
	struct cm_err		err;
	struct db_params	p;

	db_params_init(&p);
	db_param_int(&p, g);
	return db_exec(db, "SELECT 1 FROM grp WHERE g = $1", &p, NULL, &err);
}

static int
restart_hook(struct db *db, void *arg)
{
	struct cm_err	err;

	if (db_embedded_ctl(T.emb, "restart", &err) == -1) {
		fprintf(stderr, "restart: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
test_restart_mid_tx(void **state)
{
	struct cm_err	 err;
	struct db	*db;
	struct grp_arg	 a;
	int		 retries = 0;

	assert_non_null(db = db_open(T.dsn, 5, &err));
	memset(&a, 0, sizeof(a));
	a.g = 1;
	assert_int_equal(write_group(db, &a, &retries, &err), 0);
	/* pg_ctl restart -m fast while group 2 is half written. */
	a.g = 2;
	a.hook = restart_hook;
	assert_int_equal(db_tx(db, NULL, grp_body, &a, &err), -1);
	assert_int_equal(err.code, CM_ERETRY);
	assert_non_null(strstr(err.msg, "connection to PostgreSQL lost"));
	a.hook = NULL;
	assert_int_equal(write_group(db, &a, &retries, &err), 0);
	assert_true(db_reconnects(db) >= 1);
	/* A restart while idle: the next transaction reconnects by itself. */
	assert_int_equal(db_embedded_ctl(T.emb, "restart", &err), 0);
	a.g = 3;
	retries = 0;
	assert_int_equal(write_group(db, &a, &retries, &err), 0);
	assert_int_equal(retries, 0);
	assert_int_equal(check_groups(db), 3);
	db_close(db);
}

static void
test_listen_across_restart(void **state)
{
	struct cm_err		 err;
	struct db		*a, *b;
	struct db_notification	*n = NULL;
	int			 r = -1;

	assert_non_null(a = db_open(T.dsn, 5, &err));
	assert_int_equal(db_listen(a, "cairn_pub", &err), 0);
	assert_int_equal(db_embedded_ctl(T.emb, "restart", &err), 0);
	/* The wait notices the lost session and says so. */
	r = db_wait(a, 5000, &err);
	assert_int_equal(r, -1);
	assert_int_equal(err.code, CM_ERETRY);
	assert_non_null(strstr(err.msg, "may have been missed"));
	/* Listening again happened on reconnection. */
	assert_non_null(b = db_open(T.dsn, 5, &err));
	assert_int_equal(db_notify(b, "cairn_pub", "after", &err), 0);
	for (int i = 0; i < 10 && (r = db_wait(a, 1000, &err)) != 1; i++)
		;
	assert_int_equal(r, 1);
	assert_int_equal(db_next_notification(a, &n, &err), 1);
	assert_string_equal(n->payload, "after");
	db_notification_free(n);
	assert_true(db_socket(a) >= 0);
	db_close(a);
	db_close(b);
}

static long
postmaster_pid(void)
{
	char	path[PATH_MAX];
	FILE	*f;
	long	pid = -1;

	snprintf(path, sizeof(path), "%s/postmaster.pid",
	    db_embedded_pgdata(T.emb));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

/* Whether pid is gone (or a zombie nobody reaped yet). */
static int
gone(long pid)
{
	char	path[64], buf[256], *p;
	FILE	*f;
	int	zombie = 0;

	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		zombie = p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return zombie;
}

static void
test_kill9_postmaster(void **state)
{
	struct cm_err		 err;
	struct db		*db;
	long			 pid;
	int			 before;
	struct db_embedded	*again = NULL;
	struct db_options	 opt;

	assert_non_null(db = db_open(T.dsn, 5, &err));
	before = check_groups(db);
	assert_true(before > 0);
	db_close(db);

	/* Starting again while it runs finds and uses the running server. */
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = T.dir;
	assert_int_equal(db_embedded_start(&opt, &again, &err), 0);
	assert_string_equal(db_embedded_dsn(again), T.dsn);

	pid = postmaster_pid();
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	for (int i = 0; i < 100 && !gone(pid); i++)
		usleep(50000);
	assert_true(gone(pid));
	assert_true(postmaster_pid() == pid);	/* the stale file is there */
	db_embedded_free(again);

	if (dbt_restart_embedded(&T, &err) == -1)
		fprintf(stderr, "restart after kill -9: %s\n", err.msg);
	assert_non_null(T.emb);
	assert_true(postmaster_pid() != pid);
	assert_non_null(db = db_open(T.dsn, 5, &err));
	assert_int_equal(check_groups(db), before);
	db_close(db);
}

static int
kill_backend_hook(struct db *db, void *arg)
{
	struct cm_err	 err;
	struct db_res	*r;
	int64_t		 pid;

	if (db_exec(db, "SELECT pg_backend_pid()", NULL, &r, &err) != 1)
		return -1;
	if (db_res_int64(r, 0, 0, &pid, &err) == -1) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	return kill((pid_t)pid, SIGKILL);
}

static void
test_kill9_backend_mid_tx(void **state)
{
	struct cm_err	 err;
	struct db	*db;
	struct grp_arg	 a;
	int		 before, retries = 0;

	assert_non_null(db = db_open(T.dsn, 5, &err));
	before = check_groups(db);
	/* The backend dies after the first part: PostgreSQL recovers. */
	memset(&a, 0, sizeof(a));
	a.g = 100;
	a.hook = kill_backend_hook;
	assert_int_equal(db_tx(db, NULL, grp_body, &a, &err), -1);
	assert_int_equal(err.code, CM_ERETRY);
	assert_int_equal(write_group(db, &a, &retries, &err), 0);
	assert_int_equal(check_groups(db), before + 1);
	assert_int_equal(present(db, 100), 1);
	db_close(db);
}

/* The child: writes groups from 1000 on, acknowledging each commit. */
static void
child_writer(int fd)
{
	struct cm_err	 err;
	struct db	*db;
	struct grp_arg	 a;

	if ((db = db_open(T.dsn, 5, &err)) == NULL)
		_exit(1);
	memset(&a, 0, sizeof(a));
	for (a.g = 1000; ; a.g++) {
		if (db_tx(db, NULL, grp_body, &a, &err) == -1)
			_exit(2);
		if (write(fd, &a.g, sizeof(a.g)) != sizeof(a.g))
			_exit(3);
	}
}

static void
test_kill9_client_mid_tx(void **state)
{
	struct cm_err	 err;
	struct db	*db;
	int		 fds[2], g, last = -1, acked = 0, status, before, after;
	pid_t		 pid;

	assert_non_null(db = db_open(T.dsn, 5, &err));
	before = check_groups(db);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		child_writer(fds[1]);
	}
	close(fds[1]);
	while (acked < 30 && read(fds[0], &g, sizeof(g)) == sizeof(g)) {
		last = g;
		acked++;
	}
	/* Somewhere inside the next transaction. */
	usleep(3000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	while (read(fds[0], &g, sizeof(g)) == sizeof(g)) {
		last = g;
		acked++;
	}
	close(fds[0]);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(acked, last - 1000 + 1);
	/* Every acknowledged group is there, complete; nothing half-written. */
	for (g = 1000; g <= last; g++)
		assert_int_equal(present(db, g), 1);
	after = check_groups(db);
	assert_true(after >= before + acked);
	assert_true(after <= before + acked + 1);	/* the unacknowledged */
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_mid_tx),
		cmocka_unit_test(test_listen_across_restart),
		cmocka_unit_test(test_kill9_postmaster),
		cmocka_unit_test(test_kill9_backend_mid_tx),
		cmocka_unit_test(test_kill9_client_mid_tx),
	};

	return cmocka_run_group_tests_name("db crash recovery (PostgreSQL "
	    "integration)", tests, setup, teardown);
}
