/*
 * pub_admin: cairn-pubd's configuration and its operator commands (until
 * the cairn CLI exists): publisher-add, sync, status, confirm-batch,
 * reset-session, bpki-init.
 */
#ifndef PUB_ADMIN_H
#define PUB_ADMIN_H

#include "common/cm_err.h"
#include "db/db.h"

/* The daemon configuration (filled by cm_conf; see main_pubd.c). */
struct pub_conf {
	char		*data_dir;
	char		*log_level;
	char		*dsn;
	char		*rrdp_base;
	long long	 interval;
	long long	 max_deltas;
	long long	 retention;
	long long	 min_history;
	int		 may_lead;
	char		*http_host;
	long long	 http_port;
	char		*http_cert, *http_key;
	char		*static_dir;
	char		*access_log;
	char		*rsync_base;
	char		*rsync_dir;
	char		*r_host;
	long long	 r_port;
	char		*r_cert, *r_key;
	char		*service_uri;
	long long	 max_size;
	long long	 max_inflight;
	char		*bpki_key, *bpki_cert;
	long long	 withdraw_pct;
	long long	 guard_min;
};

/*
 * Runs the command argv[0] (argc words) against db.  Prints results on
 * stdout and errors on stderr.  Returns the exit code (0 ok, 1 failure,
 * 2 usage).
 */
int	pub_admin_run(const struct pub_conf *c, struct db *db, int argc,
	    char *argv[]);

/* Creates the BPKI identity files named by c.  Returns the exit code. */
int	pub_admin_bpki_init(const struct pub_conf *c);

/*
 * Makes the objects of the local publisher handle exactly the files below
 * dir (URI = base + relative path), creating the publisher with base
 * <rsync base><handle>/ when needed, in one RFC 8181 query.  *published
 * and *withdrawn (may be NULL) count the changes.  Returns 0 or -1.
 */
int	pub_admin_sync(const struct pub_conf *c, struct db *db,
	    const char *handle, const char *dir, size_t *published,
	    size_t *withdrawn, struct cm_err *err);

#endif
