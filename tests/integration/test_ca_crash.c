/*
 * Crash safety of the CA engine: a child process makes ROA changes one
 * transaction at a time and reports each one after it committed; it is
 * killed with SIGKILL at a random moment, 50 times (CAIRN_CRASH_RUNS=N for
 * more: tests/soak/ca_crash_soak.sh).  After every kill: every
 * acknowledged change is in the database, and every publication point is
 * consistent (each current manifest parses and lists exactly its key's
 * current files with their hashes; the CRL parses).  CA keys live in the
 * file backend so that the parent and each child process share them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ca/crl.h"
#include "ca/engine.h"
#include "ca/mft.h"
#include "common/cm_log.h"
#include "db_testutil.h"

#define RUNS	50	/* default; CAIRN_CRASH_RUNS overrides */
#define BASE	"rsync://127.0.0.1:8873/repo/"

struct fx {
	struct dbt	 t;
	char		 keys[80];
};

static struct ca_res *
res_of(const char *as, const char *v4)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_int_equal(ca_res_parse(r, CA_RES_AS, as, "as", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V4, v4, "v4", &err), 0);
	return r;
}

static struct ca_eng *
engine(struct fx *f, struct db **db, struct hsm **hsm, struct cm_err *err)
{
	struct ca_eng_conf	conf;

	if ((*db = db_open(f->t.dsn, 5, err)) == NULL ||
	    (*hsm = hsm_open_file(f->keys, err)) == NULL)
		return NULL;
	ca_eng_conf_defaults(&conf);
	conf.rsync_base = BASE;
	return ca_eng_new(&conf, *db, *hsm, NULL, NULL, err);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;
	struct db	*db;
	struct hsm	*hsm;
	struct ca_eng	*e;
	struct ca_res	*r;

	cm_log_init("test_ca_crash", CM_LOG_ERR);
	if (dbt_start(&f->t, &err) == -1)
		return -1;
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->t.dir);
	if ((e = engine(f, &db, &hsm, &err)) == NULL ||
	    db_migrate(db, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	r = res_of("0-4294967295", "0.0.0.0/0");
	if (ca_eng_ta_create(e, "ta", r, "t", &err) == -1)
		goto fail;
	ca_res_free(r);
	r = res_of("64496-64511", "10.0.0.0/8");
	if (ca_eng_ca_create(e, "m", "ta", r, "t", &err) == -1)
		goto fail;
	ca_res_free(r);
	ca_eng_free(e);
	hsm_close(hsm);
	db_close(db);
	*state = f;
	return 0;
fail:
	fprintf(stderr, "%s\n", err.msg);
	return -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	dbt_stop(&f->t);
	free(f);
	return 0;
}

/*
 * The child: adds ROA configurations 10.<k/256>.<k%256>.0/24 for k = first,
 * first+1, ... one transaction each, writing k to fd after each commit.
 */
static void
child(struct fx *f, int first, int fd)
{
	struct cm_err		 err;
	struct db		*db;
	struct hsm		*hsm;
	struct ca_eng		*e;
	struct ca_plan_roa_cfg	 c;
	char			 pfx[32];
	int			 k;

	if ((e = engine(f, &db, &hsm, &err)) == NULL)
		_exit(2);
	for (k = first; k < first + 10000; k++) {
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24-%d", (k / 256) % 256,
		    k % 256, 24 + k % 3);
		memset(&c, 0, sizeof(c));
		c.asn = 64496 + (uint32_t)(k % 4);
		if (ca_roa_prefix_parse(pfx, &c.prefix, &err) == -1 ||
		    ca_eng_roa_update(e, "m", &c, 1, NULL, 0, "crash", &err) == -1)
			_exit(3);
		if (write(fd, &k, sizeof(k)) != sizeof(k))
			_exit(4);
	}
	_exit(0);
}

static int64_t
count(struct db *db, const char *sql, const char *arg)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	int64_t			 v = -1;

	db_params_init(&p);
	if (arg != NULL)
		db_param_text(&p, arg);
	if (db_exec(db, sql, arg != NULL ? &p : NULL, &r, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(db_res_int64(r, 0, 0, &v, &err), 0);
	db_res_free(r);
	return v;
}

/* Every current manifest lists exactly its key's files; CRLs parse. */
static void
consistent(struct db *db)
{
	struct db_res		*r = NULL, *fl = NULL;
	struct db_params	 p;
	struct cm_err		 err;
	struct ca_mft		*m;
	struct ca_crl		*crl;
	const uint8_t		*d, *h;
	size_t			 dl, hl, i;
	int			 n, k, nf;

	n = db_exec(db, "SELECT key_id, der, kind FROM issued_object WHERE "
	    "withdrawn_at IS NULL AND kind IN ('mft', 'crl')", NULL, &r, &err);
	assert_int_equal(n, 4);		/* TA and m: a CRL and a manifest each */
	for (k = 0; k < n; k++) {
		assert_int_equal(db_res_bytea(r, k, 1, &d, &dl, &err), 0);
		if (strcmp(db_res_text(r, k, 2), "crl") == 0) {
			if (ca_crl_parse("crl", d, dl, &crl, &err) != 0)
				fail_msg("%s", err.msg);
			ca_crl_free(crl);
			continue;
		}
		if (ca_mft_parse("mft", d, dl, &m, NULL, &err) != 0)
			fail_msg("%s", err.msg);
		db_params_init(&p);
		db_param_text(&p, db_res_text(r, k, 0));
		nf = db_exec(db, "SELECT name, hash FROM issued_object WHERE "
		    "key_id = $1 AND withdrawn_at IS NULL AND kind <> 'mft' AND "
		    "uri NOT LIKE '%-ta/%' ORDER BY name", &p, &fl, &err);
		assert_int_equal((int)m->nfiles, nf);
		for (i = 0; i < m->nfiles; i++) {
			assert_string_equal(m->files[i].name,
			    db_res_text(fl, (int)i, 0));
			assert_int_equal(db_res_bytea(fl, (int)i, 1, &h, &hl, &err),
			    0);
			assert_memory_equal(m->files[i].hash, h, 32);
		}
		db_res_free(fl);
		ca_mft_free(m);
	}
	db_res_free(r);
}

static void
settle_backends(struct db *db)
{
	struct cm_err	err;
	int		i;

	if (db_exec(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND "
	    "backend_type = 'client backend'", NULL, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	for (i = 0; i < 200; i++) {
		if (count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
		    "current_database() AND pid <> pg_backend_pid() AND "
		    "backend_type = 'client backend'", NULL) == 0)
			return;
		usleep(50000);
	}
	fail_msg("a killed client's backend did not go away");
}

static void
test_kill9(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct db	*db;
	int		 run, runs = RUNS, fd[2], k, last, acked, first = 0;
	int		 status;
	int64_t		 rows;
	pid_t		 pid;
	char		 pfx[40];
	const char	*env = getenv("CAIRN_CRASH_RUNS");

	if (env != NULL && (runs = atoi(env)) <= 0)
		fail_msg("CAIRN_CRASH_RUNS must be a positive number: %s", env);
	srand((unsigned)time(NULL));
	assert_non_null(db = db_open(f->t.dsn, 5, &err));
	for (run = 0; run < runs; run++) {
		assert_int_equal(pipe(fd), 0);
		if ((pid = fork()) == 0) {
			close(fd[0]);
			child(f, first, fd[1]);
		}
		close(fd[1]);
		last = -1;
		acked = 0;
		/*
		 * Even runs: at a random moment from the start (often before
		 * the first commit, or in the middle of one).  Odd runs: a
		 * random moment after the first acknowledged change, so that
		 * work is always done however slow the machine is.
		 */
		if (run % 2 == 1 && read(fd[0], &k, sizeof(k)) == sizeof(k)) {
			last = k;
			acked++;
			usleep((useconds_t)(rand() % 400000));
		} else
			usleep(50000 + (useconds_t)(rand() % 900000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status))
			fail_msg("run %d: the child exited with %d before the kill",
			    run, WEXITSTATUS(status));
		/*
		 * The killed child's server backend may still be finishing its
		 * transaction (even committing it): end it and wait until it is
		 * gone, so that what we count below is final.
		 */
		settle_backends(db);
		while (read(fd[0], &k, sizeof(k)) == sizeof(k)) {
			last = k;
			acked++;
		}
		close(fd[0]);
		/* Every acknowledged configuration is there. */
		for (k = first; k <= last; k++) {
			snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", (k / 256) % 256,
			    k % 256);
			if (count(db, "SELECT count(*) FROM roa_config WHERE "
			    "prefix = $1::cidr", pfx) != 1)
				fail_msg("run %d: acknowledged %s lost", run, pfx);
		}
		/* At most one more (committed, killed before it said so). */
		rows = count(db, "SELECT count(*) FROM roa_config", NULL);
		if (last < 0)
			last = first - 1;	/* killed before its first commit */
		if (rows != last + 1 && rows != last + 2)
			fail_msg("run %d: %lld rows after %d acknowledged", run,
			    (long long)rows, last + 1);
		consistent(db);
		first = (int)rows;
	}
	printf("%d kills, %d configurations committed, all consistent\n", runs,
	    first);
	assert_true(first > 0);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
