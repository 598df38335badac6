/*
 * Connections: open, close, reconnect after the server went away.
 */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"

/* Server notices (e.g. "relation already exists, skipping") go to the log. */
static void
notice_cb(void *arg, const char *msg)
{
	size_t	n = strlen(msg);

	while (n > 0 && msg[n - 1] == '\n')
		n--;
	cm_debug("db: %.*s", (int)n, msg);
}

/* The last libpq connection error without its trailing newline. */
static void
conn_error(PGconn *c, char *buf, size_t len)
{
	size_t	n;

	snprintf(buf, len, "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* libpq joins the attempts of several hosts with newlines. */
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

/*
 * Connects with the conninfo string; connect_timeout comes first so that a
 * value in the DSN itself wins.  Returns the connection or NULL with err set.
 */
static PGconn *
connect_dsn(struct db *db, struct cm_err *err)
{
	const char	*kw[] = { "connect_timeout", "application_name",
			    "dbname", NULL };
	const char	*val[] = { db->timeout, "cairn", db->dsn, NULL };
	PGconn		*c;
	char		 msg[512];

	c = PQconnectdbParams(kw, val, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		conn_error(c, msg, sizeof(msg));
		PQfinish(c);
		/* "the database system is starting up" and friends: retryable. */
		cm_err_set(err, strstr(msg, "starting up") != NULL ||
		    strstr(msg, "shutting down") != NULL ? CM_ERETRY : CM_EDB,
		    "db", "cannot connect to PostgreSQL: %s", msg);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_cb, NULL);
	return c;
}

struct db *
db_open(const char *dsn, int connect_timeout, struct cm_err *err)
{
	struct db	*db;

	if (dsn == NULL) {
		cm_err_set(err, CM_EINVAL, "db", "no DSN given");
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->dsn = strdup(dsn)) == NULL) {
		free(db);
		cm_err_set(err, CM_ENOMEM, "db", "out of memory");
		return NULL;
	}
	snprintf(db->timeout, sizeof(db->timeout), "%d",
	    connect_timeout > 0 ? connect_timeout : 10);
	db->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^
	    (unsigned)(uintptr_t)db;
	if ((db->conn = connect_dsn(db, err)) == NULL) {
		db_close(db);
		return NULL;
	}
	db->gen = 1;
	return db;
}

void
db_close(struct db *db)
{
	struct db_stmt	*st, *next;

	if (db == NULL)
		return;
	PQfinish(db->conn);
	for (st = db->stmts; st != NULL; st = next) {
		next = st->next;
		free(st->sql);
		free(st);
	}
	for (size_t i = 0; i < db->nchannels; i++)
		free(db->channels[i]);
	free(db->channels);
	if (db->pending != NULL)
		PQfreemem(db->pending);
	free(db->dsn);
	free(db);
}

const char *
db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

unsigned
db_reconnects(const struct db *db)
{
	return db->reconnects;
}

int
db_socket(const struct db *db)
{
	if (db->conn == NULL || db->broken ||
	    PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	return PQsocket(db->conn);
}

int
db__lost(struct db *db, const char *what, const char *why,
    struct cm_err *err)
{
	char	msg[512];

	if (why != NULL)
		snprintf(msg, sizeof(msg), "%s", why);
	else
		conn_error(db->conn, msg, sizeof(msg));
	db->broken = 1;
	if (db->in_tx)
		db->tx_lost = 1;
	return cm_err_set(err, CM_ERETRY, "db",
	    "%s: connection to PostgreSQL lost: %s", what, msg);
}

/* LISTENs again on every channel of db (after a reconnection). */
static int
relisten(struct db *db, struct cm_err *err)
{
	char		 sql[128];
	PGresult	*res;
	int		 ok;

	for (size_t i = 0; i < db->nchannels; i++) {
		snprintf(sql, sizeof(sql), "LISTEN \"%s\"", db->channels[i]);
		res = PQexec(db->conn, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!ok)
			return db__lost(db, "LISTEN", NULL, err);
	}
	return 0;
}

int
db__ensure(struct db *db, struct cm_err *err)
{
	PGconn	*c;

	if (db->conn != NULL && !db->broken &&
	    PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->in_tx)
		return cm_err_set(err, CM_ERETRY, "db", "connection to "
		    "PostgreSQL lost inside a transaction; retry it");
	if ((c = connect_dsn(db, err)) == NULL) {
		/* Whatever the reason, the server was there before: retryable. */
		if (err != NULL)
			err->code = CM_ERETRY;
		return -1;
	}
	PQfinish(db->conn);
	db->conn = c;
	db->broken = 0;
	db->gen++;	/* prepared statements are gone with the old session */
	db->reconnects++;
	cm_info("db: reconnected to PostgreSQL (%u)", db->reconnects);
	return relisten(db, err);
}
