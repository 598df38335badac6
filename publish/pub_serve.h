/*
 * pub_serve: the RRDP files a cairn-pubd process serves over HTTP(S).
 *
 * Every process (leader or replica) loads the files of rrdp_serial into
 * memory: the current notification, and every snapshot and delta whose
 * bytes are still stored.  Files are immutable, so a reload fetches only
 * the files it does not hold yet and shares the others; each file is
 * gzip'ed once (cm_http_file).  The table is swapped under a mutex, so the
 * HTTP handler (loop thread) and the loader (its own thread) may run at
 * the same time.  Files of 64 KiB and more are held in memfds and sent
 * with sendfile(2) over plain HTTP (cm_http_file.h).
 *
 *   <rrdp path>notification.xml    Cache-Control: max-age=60
 *   <rrdp path><session>/<serial>/<token>/snapshot.xml | delta.xml
 *                                  Cache-Control: max-age=31536000, immutable
 *   /<name>                        static files (TA certificates), max-age=3600
 */
#ifndef PUB_SERVE_H
#define PUB_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "common/cm_http.h"
#include "db/db.h"

struct pub_serve;

/*
 * rrdp_base is the https base URI of the RRDP files (its path is where
 * they are served).  Returns NULL with err set.
 */
struct pub_serve *pub_serve_new(const char *rrdp_base, struct cm_err *err);
void	pub_serve_free(struct pub_serve *s);		/* NULL is ok */

/*
 * Serves the regular files of dir (not recursive, names without '/') as
 * static files at /<name>, in place of those served before (a reload:
 * any thread).  Returns the number of files, or -1 with err naming the
 * file or directory that failed; then the files served before stay.
 */
int	pub_serve_static_dir(struct pub_serve *s, const char *dir,
	    struct cm_err *err);

/*
 * Brings the table up to date with rrdp_serial.  *serial (may be NULL)
 * gets the serial of the notification now served and *changed (may be
 * NULL) whether it differs from before.  Returns 0 or -1 (the old table
 * stays).
 */
int	pub_serve_load(struct pub_serve *s, struct db *db, uint64_t *serial,
	    int *changed, struct cm_err *err);

/* The session of the served notification ("" before the first load). */
void	pub_serve_session(struct pub_serve *s, char out[37]);

/*
 * Writes the rsync tree (pub_rsync.h) under root for the snapshot of the
 * serial served now (from rrdp_serial, so that the tree matches the RRDP
 * state exactly): objects below base_uri, a new tree numbered one above
 * the current one, swapped in atomically.  Trees retired more than an hour
 * ago are removed.  Returns 0 or -1.
 */
int	pub_serve_rsync(struct pub_serve *s, struct db *db, const char *root,
	    const char *base_uri, int64_t now, struct cm_err *err);

/* The cm_http handler (arg: the struct pub_serve). */
void	pub_serve_handle(struct cm_http_req *req, void *arg);

#endif
