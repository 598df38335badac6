/*
 * Module-private parts of db/: the connection structure shared by
 * db_conn.c, db_tx.c, db_notify.c and db_migrate.c, and the table of
 * migrations that the build generates from the files of db/migrations/.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db/db.h"

struct db_stmt {
	struct db_stmt	*next;
	char		*sql;
	char		 name[24];	/* server-side name, "cairn_<n>" */
	unsigned	 gen;		/* connection it was prepared on; 0: none */
};

struct db {
	PGconn		*conn;
	char		*dsn;
	char		 timeout[16];	/* connect_timeout, seconds */
	unsigned	 gen;		/* connection generation, from 1 */
	unsigned	 reconnects;
	int		 in_tx;		/* inside db_tx() */
	int		 tx_lost;	/* the connection died inside db_tx() */
	int		 broken;	/* server ended the session: reconnect */
	unsigned	 seed;		/* back-off jitter */
	struct db_stmt	*stmts;
	unsigned	 nstmts;
	char		**channels;	/* LISTENed, re-issued on reconnect */
	size_t		 nchannels;
	PGnotify	*pending;	/* taken from libpq by db_wait() */
	char		 sqlstate[6];
};

/*
 * Makes sure db has a working connection, reconnecting if it was lost
 * (never inside a transaction).  Returns 0, or -1 with err set (CM_ERETRY).
 */
int	db__ensure(struct db *db, struct cm_err *err);

/*
 * Records that the connection is broken (the next call outside a
 * transaction reconnects).  Sets err (CM_ERETRY) with what and why (NULL:
 * libpq's connection error), returns -1.
 */
int	db__lost(struct db *db, const char *what, const char *why,
	    struct cm_err *err);

/* One migration file, compiled in (db_migrations_data.c, generated). */
struct db_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

extern const struct db_migration	db_migrations[];
extern const size_t			db_nmigrations;

#endif
