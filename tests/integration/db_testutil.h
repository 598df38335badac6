/*
 * Shared set-up of the PostgreSQL integration tests: a scratch data
 * directory with an embedded cluster in it.  Works as root (the cluster
 * then runs as the system user "cairn") and as an ordinary user.
 */
#ifndef DB_TESTUTIL_H
#define DB_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db/db.h"

struct dbt {
	char			 dir[64];
	struct db_embedded	*emb;
	const char		*dsn;
};

static inline int
dbt_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

/* Creates a scratch directory and starts a cluster in it; 0 or -1. */
static inline int
dbt_start(struct dbt *t, struct cm_err *err)
{
	struct db_options	opt;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/cairn-dbtest-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return cm_err_set(err, CM_EIO, "mkdtemp", "failed");
	/* The PostgreSQL user (cairn, when we are root) must enter it. */
	chmod(t->dir, 0755);
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = t->dir;
	opt.connect_timeout = 5;
	if (db_embedded_start(&opt, &t->emb, err) == -1)
		return -1;
	t->dsn = db_embedded_dsn(t->emb);
	return 0;
}

/* Restarts the cluster through db_embedded_start() (after a crash). */
static inline int
dbt_restart_embedded(struct dbt *t, struct cm_err *err)
{
	struct db_options	opt;

	memset(&opt, 0, sizeof(opt));
	opt.data_dir = t->dir;
	opt.connect_timeout = 5;
	db_embedded_free(t->emb);	/* the server is gone */
	t->emb = NULL;
	if (db_embedded_start(&opt, &t->emb, err) == -1)
		return -1;
	t->dsn = db_embedded_dsn(t->emb);
	return 0;
}

/* Stops the cluster and removes the directory. */
static inline void
dbt_stop(struct dbt *t)
{
	struct cm_err	err;

	if (t->emb != NULL && db_embedded_stop(t->emb, &err) == -1)
		fprintf(stderr, "stop: %s\n", err.msg);
	t->emb = NULL;
	if (t->dir[0] != '\0')
		nftw(t->dir, dbt_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A DSN for another database of the same cluster. */
static inline void
dbt_dsn_db(const struct dbt *t, const char *dbname, char *out, size_t len)
{
	snprintf(out, len, "%s dbname=%s", t->dsn, dbname);
}

static inline double
dbt_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
