/*
 * Transactions with automatic retry of serialization failures and
 * deadlocks: PostgreSQL has rolled such a transaction back entirely, so
 * running the body again is safe.
 */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_log.h"

static int
is_conflict(const char *st)
{
	return strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0;
}

/* Sleeps a random time up to 5 ms << attempt (at most about 0.6 s). */
static void
backoff(struct db *db, int attempt)
{
	struct timespec	ts;
	long		max_us = 5000L << (attempt < 7 ? attempt : 7);
	long		us = 1000 + rand_r(&db->seed) % max_us;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

/* Ends an aborted or unfinished transaction; errors do not matter then. */
static void
rollback(struct db *db)
{
	PGresult	*res;

	if (db->tx_lost || db->broken || PQstatus(db->conn) != CONNECTION_OK)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

/*
 * One attempt: BEGIN, fn, COMMIT.  Returns 0 when committed, -2 when BEGIN
 * found the connection dead (nothing was done: safe to run again after
 * reconnecting), -1 otherwise.
 */
static int
attempt_tx(struct db *db, const char *begin, db_tx_fn fn, void *arg,
    struct cm_err *err)
{
	if (db_exec(db, begin, NULL, NULL, err) == -1)
		return db->broken ? -2 : -1;
	db->in_tx = 1;
	db->tx_lost = 0;
	if (fn(db, arg, err) == -1) {
		if (err != NULL && err->code == CM_OK)
			cm_err_set(err, CM_EDB, "db", "transaction body failed "
			    "without saying why");
		rollback(db);
		return -1;
	}
	if (db->tx_lost)	/* fn ignored an error of a lost connection */
		return cm_err_set(err, CM_ERETRY, "db", "connection to "
		    "PostgreSQL lost inside a transaction; retry it");
	/* COMMIT of a failed transaction quietly rolls back: refuse it. */
	if (PQtransactionStatus(db->conn) == PQTRANS_INERROR) {
		rollback(db);
		return cm_err_set(err, CM_EDB, "db", "transaction body went on "
		    "after a failed statement; rolled back");
	}
	if (db_exec(db, "COMMIT", NULL, NULL, err) == -1) {
		if (db->tx_lost)
			return cm_err_wrap(err, "COMMIT outcome unknown");
		rollback(db);
		return -1;
	}
	return 0;
}

int
db_tx(struct db *db, const char *level, db_tx_fn fn, void *arg,
    struct cm_err *err)
{
	char	begin[64], state[6];
	int	rc, relost = 0;

	if (db->in_tx)
		return cm_err_set(err, CM_ESTATE, "db", "nested db_tx()");
	if (level == NULL)
		level = "READ COMMITTED";
	if (strcmp(level, "READ COMMITTED") != 0 &&
	    strcmp(level, "REPEATABLE READ") != 0 &&
	    strcmp(level, "SERIALIZABLE") != 0)
		return cm_err_set(err, CM_EINVAL, "db", "unknown isolation "
		    "level \"%s\"", level);
	snprintf(begin, sizeof(begin), "BEGIN ISOLATION LEVEL %s", level);
	for (int attempt = 0; ; attempt++) {
		cm_err_clear(err);
		rc = attempt_tx(db, begin, fn, arg, err);
		db->in_tx = 0;
		if (rc == 0)
			return 0;
		/*
		 * A connection that died while idle (server restart) is only
		 * noticed when BEGIN is sent: reconnect once and go again.
		 */
		if (rc == -2 && !relost++) {
			cm_debug("db: connection lost while idle: %s",
			    err != NULL ? err->msg : "");
			attempt--;
			continue;
		}
		memcpy(state, db->sqlstate, sizeof(state));
		if (db->tx_lost || !is_conflict(state) ||
		    attempt >= DB_TX_RETRIES)
			break;
		cm_debug("db: transaction conflict (%s), attempt %d", state,
		    attempt + 1);
		backoff(db, attempt);
	}
	db->tx_lost = 0;
	return -1;
}
