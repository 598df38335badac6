/*
 * Schema migrations: the numbered files of db/migrations/, compiled in.
 *
 * Each migration runs in its own transaction that first takes a
 * transaction-level advisory lock, so concurrent starts of several daemons
 * serialise: the first applies a migration, the others wait for its commit
 * and then find the version recorded.  The version table is created under
 * the same lock.
 */
#include "db/db_int.h"

#include <stdint.h>
#include <string.h>

#include "common/cm_log.h"

/* "cairn" in ASCII, then 1: the migration lock. */
#define MIGRATE_LOCK	"SELECT pg_advisory_xact_lock(435964752494337)"

#define SCHEMA_TABLE \
	"CREATE TABLE IF NOT EXISTS cairn_schema (" \
	" version integer PRIMARY KEY," \
	" name text NOT NULL," \
	" applied_at timestamptz NOT NULL DEFAULT now())"

struct mig_arg {
	const struct db_migration	*m;	/* NULL: check only */
	int				 applied;
	int				 version;	/* highest found */
};

int
db_schema_known(void)
{
	return db_migrations[db_nmigrations - 1].version;
}

int
db_schema_count(void)
{
	return (int)db_nmigrations;
}

static const struct db_migration *
find_known(int version)
{
	for (size_t i = 0; i < db_nmigrations; i++)
		if (db_migrations[i].version == version)
			return &db_migrations[i];
	return NULL;
}

/*
 * Compares the recorded versions with the compiled-in ones: a newer version
 * or a known version under another name means this binary does not match
 * the database.  Sets a->version to the highest recorded version.
 */
static int
check_recorded(struct db *db, struct mig_arg *a, struct cm_err *err)
{
	const struct db_migration	*m;
	struct db_res			*r = NULL;
	int64_t				 v;
	int				 n, rc = -1;

	n = db_exec(db, "SELECT version, name FROM cairn_schema ORDER BY "
	    "version", NULL, &r, err);
	if (n == -1)
		return -1;
	a->version = 0;
	for (int i = 0; i < n; i++) {
		if (db_res_int64(r, i, 0, &v, err) == -1)
			goto out;
		a->version = (int)v;
		if (v > db_schema_known()) {
			cm_err_set(err, CM_ESTATE, "db", "database schema "
			    "version %d (%s) is newer than this program knows "
			    "(up to %d): upgrade Cairn, or point it at the "
			    "database of its own version", (int)v,
			    db_res_text(r, i, 1), db_schema_known());
			goto out;
		}
		m = find_known((int)v);
		if (m == NULL || strcmp(m->name, db_res_text(r, i, 1)) != 0) {
			cm_err_set(err, CM_ESTATE, "db", "database schema "
			    "version %d is \"%s\", this program knows it as "
			    "\"%s\": the database belongs to another build",
			    (int)v, db_res_text(r, i, 1),
			    m != NULL ? m->name : "(nothing)");
			goto out;
		}
	}
	rc = 0;
 out:
	db_res_free(r);
	return rc;
}

static int
migrate_body(struct db *db, void *arg, struct cm_err *err)
{
	struct mig_arg		*a = arg;
	struct db_params	 p;
	int			 n;

	a->applied = 0;
	if (db_exec(db, MIGRATE_LOCK, NULL, NULL, err) == -1 ||
	    db_exec(db, SCHEMA_TABLE, NULL, NULL, err) == -1 ||
	    check_recorded(db, a, err) == -1)
		return -1;
	if (a->m == NULL)
		return 0;
	db_params_init(&p);
	db_param_int(&p, a->m->version);
	n = db_exec(db, "SELECT 1 FROM cairn_schema WHERE version = $1", &p,
	    NULL, err);
	if (n != 0)
		return n > 0 ? 0 : -1;	/* applied by another process */
	/* Several statements: the simple query protocol, inside our BEGIN. */
	if (db_exec(db, a->m->sql, NULL, NULL, err) == -1) {
		cm_err_wrap(err, a->m->name);
		return -1;
	}
	db_param_text(&p, a->m->name);
	if (db_exec(db, "INSERT INTO cairn_schema (version, name) "
	    "VALUES ($1, $2)", &p, NULL, err) == -1)
		return -1;
	a->applied = 1;
	return 0;
}

int
db_migrate(struct db *db, struct cm_err *err)
{
	struct mig_arg	a = { NULL, 0, 0 };
	int		count = 0;

	/* First the check alone: refuse a newer schema before touching it. */
	if (db_tx(db, NULL, migrate_body, &a, err) == -1)
		return -1;
	for (size_t i = 0; i < db_nmigrations; i++) {
		/* Each transaction checks again whether it is recorded. */
		a.m = &db_migrations[i];
		if (db_tx(db, NULL, migrate_body, &a, err) == -1)
			return cm_err_wrap(err, "migration");
		if (a.applied) {
			cm_info("db: applied schema migration %04d_%s",
			    a.m->version, a.m->name);
			count++;
		}
	}
	return count;
}

int
db_schema_version(struct db *db, int *version, struct cm_err *err)
{
	struct db_res	*r = NULL;
	int64_t		 v = 0;
	int		 n;

	n = db_exec(db, "SELECT to_regclass('cairn_schema') IS NOT NULL",
	    NULL, &r, err);
	if (n == -1)
		return -1;
	if (strcmp(db_res_text(r, 0, 0), "t") == 0) {
		db_res_free(r);
		r = NULL;
		if (db_exec(db, "SELECT coalesce(max(version), 0) FROM "
		    "cairn_schema", NULL, &r, err) == -1 ||
		    db_res_int64(r, 0, 0, &v, err) == -1) {
			db_res_free(r);
			return -1;
		}
	}
	db_res_free(r);
	*version = (int)v;
	return 0;
}
