/*
 * db: Cairn's PostgreSQL storage layer.
 *
 * - struct db: one libpq connection with its prepared statements, LISTEN
 *   channels and automatic reconnection.  A struct db is used by one thread
 *   at a time; open one per thread.
 * - db_tx(): runs a callback in one transaction and retries it when
 *   PostgreSQL reports a serialization failure (40001) or a deadlock (40P01).
 * - db_migrate(): applies the numbered SQL files of db/migrations/ (compiled
 *   into the binary) in one transaction each, under an advisory lock.
 * - db_embedded_*(): the private PostgreSQL cluster of <data-dir>/pg that a
 *   daemon runs when its configuration names no DSN.
 *
 * Errors: every failing call returns -1 and fills a struct cm_err whose
 * message ends with "[SQLSTATE xxxxx]" when the server reported one (also
 * available from db_sqlstate()).  Codes: CM_ERETRY for serialization
 * failures, deadlocks and a lost connection (the transaction was rolled back,
 * or for a lost COMMIT its outcome is unknown: retry idempotent work);
 * CM_EEXIST for unique violations; CM_ESTATE for a schema newer than this
 * binary knows; CM_EDB for the rest.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

/*
 * Database options, filled by the configuration module.  Strings are
 * borrowed for the duration of each call that takes the struct.
 */
struct db_options {
	const char	*dsn;		/* libpq conninfo; NULL or "": embedded */
	const char	*data_dir;	/* daemon data dir; embedded uses <it>/pg */
	const char	*pg_user;	/* embedded: user to run PostgreSQL as when
					   started by root; NULL: "cairn" */
	const char	*pg_bindir;	/* embedded: initdb/pg_ctl directory; NULL:
					   newest /usr/lib/postgresql/<v>/bin */
	int		 connect_timeout; /* seconds; 0: 10 */
};

struct db;		/* one connection; opaque */
struct db_res;		/* one query result; opaque */
struct db_stmt;		/* a registered statement; opaque, owned by its db */

/*
 * Opens a connection with the libpq conninfo string dsn (a connect_timeout
 * is added unless dsn has one).  Fails within connect_timeout seconds on an
 * unreachable or wrong DSN.  Returns a handle to free with db_close(), or
 * NULL with err set (CM_EDB, or CM_ERETRY when the server is not accepting
 * connections yet).
 */
struct db	*db_open(const char *dsn, int connect_timeout, struct cm_err *err);

/* Closes the connection and frees everything the handle owns.  NULL is ok. */
void		 db_close(struct db *db);

/* SQLSTATE of the last server error ("" if none).  Borrowed. */
const char	*db_sqlstate(const struct db *db);

/* How many times the connection was re-established since db_open(). */
unsigned	 db_reconnects(const struct db *db);

/* ---- parameters ---- */

#define DB_MAXPARAMS	32

/*
 * Query parameters: text for everything but bytea, which is sent in binary.
 * Values are borrowed (not copied) except integers, which are formatted into
 * the struct.  Build on the stack with db_params_init() and db_param_*().
 */
struct db_params {
	int		 n;
	int		 overflow;	/* set when more than DB_MAXPARAMS */
	int		 binary_results; /* results in binary format (bytea raw) */
	const char	*val[DB_MAXPARAMS];
	int		 len[DB_MAXPARAMS];
	int		 fmt[DB_MAXPARAMS];
	char		 num[DB_MAXPARAMS][24];
};

void	db_params_init(struct db_params *p);
/* A text parameter; s NULL is SQL NULL. */
void	db_param_text(struct db_params *p, const char *s);
/* An integer parameter (sent as text, PostgreSQL casts it). */
void	db_param_int(struct db_params *p, int64_t v);
/* A bytea parameter sent in binary: len bytes, NULs included.  NULL: SQL NULL. */
void	db_param_bytea(struct db_params *p, const void *data, size_t len);

/* ---- statements and results ---- */

/*
 * Runs sql (one statement; $1.. placeholders when p is not NULL) without
 * preparing it.  With params NULL, sql may hold several statements separated
 * by ';' (simple query protocol).  When out is not NULL it gets the result
 * (free with db_res_free()).  Returns the number of rows affected or
 * returned (0 for other commands), or -1 with err set.
 */
int	db_exec(struct db *db, const char *sql, const struct db_params *p,
	    struct db_res **out, struct cm_err *err);

/*
 * Registers sql as a prepared statement of db and returns its handle in *out
 * (owned by db, valid until db_close()).  It is prepared on the server at
 * first use, and again after a reconnection.  Registering the same SQL text
 * twice returns the same handle.  Returns 0 or -1.
 */
int	db_prepare(struct db *db, const char *sql, struct db_stmt **out,
	    struct cm_err *err);

/* Like db_exec() for a registered statement. */
int	db_exec_stmt(struct db *db, struct db_stmt *st,
	    const struct db_params *p, struct db_res **out, struct cm_err *err);

void	db_res_free(struct db_res *r);		/* NULL is ok */
int	db_res_rows(const struct db_res *r);
int	db_res_cols(const struct db_res *r);
int	db_res_isnull(const struct db_res *r, int row, int col);
/* Text of a text-like column (text or binary results), "" for NULL.  Borrowed. */
const char *db_res_text(const struct db_res *r, int row, int col);
/*
 * Integer value of an int2/int4/int8 (text or binary) or of a text column
 * holding a number.  Returns 0, or -1 with err set (NULL, bad number).
 */
int	db_res_int64(const struct db_res *r, int row, int col, int64_t *v,
	    struct cm_err *err);
/*
 * Bytes of a bytea column: with binary results the raw bytes, otherwise the
 * hex text decoded.  *data is borrowed until db_res_free().  Returns 0, or
 * -1 with err set (NULL value, bad encoding, out of memory).
 */
int	db_res_bytea(struct db_res *r, int row, int col, const uint8_t **data,
	    size_t *len, struct cm_err *err);

/* ---- transactions ---- */

/*
 * The body of a transaction: runs statements on db and returns 0 to commit
 * or -1 (with err set) to roll back.  It may run more than once (after a
 * serialization failure or deadlock), so it must not have effects outside
 * the database, or must make them idempotent.
 */
typedef int	(*db_tx_fn)(struct db *db, void *arg, struct cm_err *err);

#define DB_TX_RETRIES	8	/* attempts after 40001 / 40P01 */

/*
 * Runs fn in one transaction (BEGIN ISOLATION LEVEL <level> ... COMMIT);
 * level NULL is READ COMMITTED.  Serialization failures and deadlocks, in fn
 * or at COMMIT, roll back and run fn again, up to DB_TX_RETRIES times with a
 * growing random back-off.  A lost connection is not retried here: the call
 * fails with CM_ERETRY (the next call reconnects) and the caller decides.
 * Returns 0 when committed, or -1 with err set (rolled back, except a lost
 * COMMIT whose outcome is unknown, said in the message).
 */
int	db_tx(struct db *db, const char *level, db_tx_fn fn, void *arg,
	    struct cm_err *err);

/* ---- LISTEN / NOTIFY ---- */

struct db_notification {
	char	*channel;
	char	*payload;
	int	 pid;		/* backend that sent it */
};

/*
 * Listens on channel (a plain identifier: letters, digits, '_').  Channels
 * are listened on again after a reconnection.  Returns 0 or -1.
 */
int	db_listen(struct db *db, const char *channel, struct cm_err *err);

/* Sends a notification (inside db_tx() it is delivered at commit). */
int	db_notify(struct db *db, const char *channel, const char *payload,
	    struct cm_err *err);

/*
 * The connection's socket, for a libuv poll handle (readable: call
 * db_next_notification()).  It changes after a reconnection; compare with
 * the value being polled after every call that may reconnect.  -1 if none.
 */
int	db_socket(const struct db *db);

/*
 * Reads what the server sent and takes one queued notification: returns 1
 * with *out (free with db_notification_free()), 0 if none is queued, -1 on
 * error (CM_ERETRY when the connection was lost).  Never blocks.
 */
int	db_next_notification(struct db *db, struct db_notification **out,
	    struct cm_err *err);

/*
 * Waits up to timeout_ms (-1: forever) for a notification.  Returns 1 when
 * one is queued (take it with db_next_notification()), 0 on timeout, -1 on
 * error (CM_ERETRY when the connection was lost; reconnecting is attempted
 * once before returning).
 */
int	db_wait(struct db *db, int timeout_ms, struct cm_err *err);

void	db_notification_free(struct db_notification *n);	/* NULL is ok */

/* ---- schema migrations ---- */

/* The highest schema version compiled into this binary. */
int	db_schema_known(void);
/*
 * How many migrations are compiled in: db_schema_known() unless versions
 * were skipped (each version is applied and recorded on its own, so a
 * version that arrives later is applied then).
 */
int	db_schema_count(void);

/*
 * Brings the schema up to db_schema_known(): applies each missing migration
 * in its own transaction under an advisory lock, so that concurrent starts
 * apply each one exactly once (the others wait, then find it applied).
 * Refuses with CM_ESTATE when the database has a version newer than this
 * binary knows, or a known version under another name.  Returns the number
 * of migrations applied, or -1 with err set.
 */
int	db_migrate(struct db *db, struct cm_err *err);

/* The schema version of the database (0: none).  Returns 0 or -1. */
int	db_schema_version(struct db *db, int *version, struct cm_err *err);

/* ---- embedded cluster ---- */

struct db_embedded;

/*
 * Starts (creating it on first use: initdb, database "cairn") the private
 * cluster in <opt->data_dir>/pg, listening only on a unix socket in
 * <data_dir>/pg/run.  As root, PostgreSQL runs as opt->pg_user ("cairn").  A
 * stale postmaster.pid of a crashed server is removed.  Never waits longer
 * than about a minute.  On success *out is a handle for db_embedded_dsn()
 * and db_embedded_stop().  Returns 0, or -1 with err set (the message quotes
 * the server's log on failure).
 */
int	db_embedded_start(const struct db_options *opt,
	    struct db_embedded **out, struct cm_err *err);

/*
 * 1 when db_embedded_start() started the server, 0 when it found one running
 * (another process of the same data directory) and is using it.
 */
int		 db_embedded_started(const struct db_embedded *e);

/* The libpq conninfo of the running cluster.  Borrowed from e. */
const char *db_embedded_dsn(const struct db_embedded *e);

/* The cluster's data directory (<data_dir>/pg/data).  Borrowed from e. */
const char *db_embedded_pgdata(const struct db_embedded *e);

/*
 * Runs "pg_ctl <action>" (for example "restart") against the cluster, as the
 * PostgreSQL user, waiting for it to finish.  For operations and tests.
 * Returns 0 or -1.
 */
int	db_embedded_ctl(struct db_embedded *e, const char *action,
	    struct cm_err *err);

/* Frees e without stopping the server (it keeps running).  NULL is ok. */
void	db_embedded_free(struct db_embedded *e);

/*
 * Stops the cluster (fast shutdown: sessions are ended, committed data is
 * kept) and frees e, whatever the result.  NULL is ok.  Returns 0 or -1.
 */
int	db_embedded_stop(struct db_embedded *e, struct cm_err *err);

#endif
