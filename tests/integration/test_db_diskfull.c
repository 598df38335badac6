/*
 * A full disk under the embedded PostgreSQL: statements fail at once with a
 * clear error (SQLSTATE 53100 "disk full", CM_EIO), nothing
 * hangs, committed rows stay, and once space is freed work goes on.  The
 * cluster lives on a small tmpfs that the test mounts (CI runs as root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "db/db.h"

struct fx {
	char			 dir[64];
	struct db_embedded	*emb;
	struct db		*db;
};

static int
setup(void **state)
{
	struct fx		*f = calloc(1, sizeof(*f));
	struct db_options	 opt;
	struct cm_err		 err;

	cm_log_init("test_db_diskfull", CM_LOG_WARN);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cairn-diskfull-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (mount("tmpfs", f->dir, "tmpfs", 0, "size=160m,mode=0755") == -1) {
		fprintf(stderr, "mount tmpfs on %s: %s (the test needs root)\n",
		    f->dir, strerror(errno));
		return -1;
	}
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = f->dir;
	opt.connect_timeout = 5;
	if (db_embedded_start(&opt, &f->emb, &err) == -1 ||
	    (f->db = db_open(db_embedded_dsn(f->emb), 5, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;

	db_close(f->db);
	if (db_embedded_stop(f->emb, &err) == -1)
		fprintf(stderr, "%s\n", err.msg);
	umount2(f->dir, MNT_DETACH);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Fills the file system but for keep bytes with a file we can delete. */
static void
fill(const char *dir, const char *path, unsigned long long keep)
{
	struct statvfs	 v;
	char		 buf[65536];
	unsigned long long avail;
	int		 fd;

	assert_int_equal(statvfs(dir, &v), 0);
	avail = (unsigned long long)v.f_bavail * v.f_frsize;
	memset(buf, 0, sizeof(buf));
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	while (avail > keep + sizeof(buf)) {
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
		avail -= sizeof(buf);
	}
	close(fd);
}

static void
test_disk_full(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 filler[128], *blob;
	int			 i, rc = 0;
	int64_t			 n;

	assert_int_equal(db_exec(f->db, "CREATE TABLE t (id int PRIMARY KEY, "
	    "b bytea)", NULL, NULL, &err), 0);
	/* Incompressible data, so that TOAST cannot shrink it. */
	blob = malloc(256 * 1024);
	for (i = 0; i < 256 * 1024; i++)
		blob[i] = (char)(rand() & 0xff);
	db_params_init(&p);
	db_param_int(&p, 0);
	db_param_bytea(&p, blob, 256 * 1024);
	assert_int_equal(db_exec(f->db, "INSERT INTO t VALUES ($1, $2)", &p, NULL,
	    &err), 1);

	snprintf(filler, sizeof(filler), "%s/filler", f->dir);
	fill(f->dir, filler, 512 * 1024);
	for (i = 1; i < 200; i++) {
		db_params_init(&p);
		db_param_int(&p, i);
		db_param_bytea(&p, blob, 256 * 1024);
		if ((rc = db_exec(f->db, "INSERT INTO t VALUES ($1, $2)", &p, NULL,
		    &err)) == -1)
			break;
	}
	assert_int_equal(rc, -1);
	printf("disk full after %d rows: %s\n", i, err.msg);
	assert_int_equal(err.code, CM_EIO);
	/* PostgreSQL says "No space left on device" or "wrote only N of M". */
	assert_true(strstr(err.msg, "No space left on device") != NULL ||
	    strstr(err.msg, "could not extend file") != NULL);
	assert_non_null(strstr(err.msg, "[SQLSTATE 53100]"));

	/* Space back: the committed rows are all there, and work goes on. */
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(db_exec(f->db, "SELECT count(*) FROM t", NULL, &r,
	    &err), 1);
	assert_int_equal(db_res_int64(r, 0, 0, &n, &err), 0);
	assert_int_equal(n, i);
	db_res_free(r);
	db_params_init(&p);
	db_param_int(&p, 1000);
	db_param_bytea(&p, blob, 256 * 1024);
	if (db_exec(f->db, "INSERT INTO t VALUES ($1, $2)", &p, NULL, &err) != 1)
		fail_msg("after freeing space: %s", err.msg);
	free(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
