/*
 * pub_rsync: the rsync tree writer.
 *
 * Layout under root (the rsyncd module path is <root>/current):
 *
 *   current -> trees/<serial>     symlink, swapped with rename(2)
 *   trees/<serial>/<path>         one complete tree per published serial
 *   trees/<serial>.new/           a tree being built (removed if stale)
 *   trees/<serial>.activated      the time the tree became current
 *   objects/<2 hex>/<62 hex>      content store, named by SHA-256
 *
 * Every file of a tree is a hard link to its content-store entry, so an
 * object unchanged since the previous tree is the same inode there, and
 * building a tree writes data only for new content: O(changes) data
 * writes, one link(2) per unchanged object.  File mtimes are deterministic
 * (the object's own time, see pub_rsync_mtime()), so rsync's quick check
 * (size + mtime) skips unchanged files; directories get a fixed mtime.
 *
 * A tree is built under a temporary name, flushed with syncfs(2), renamed,
 * and only then made current.  A crash at any point leaves the previous
 * tree current and complete.  One writer per root at a time.
 */
#ifndef PUB_RSYNC_H
#define PUB_RSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

/* Fixed mtime of directories, and of objects whose time cannot be read. */
#define PUB_RSYNC_FIXED_MTIME	INT64_C(946684800)	/* 2000-01-01 */

/*
 * One object of the tree.  hash, when given, must be the SHA-256 of data
 * (it names the content-store entry; the database has it already, which
 * saves hashing every object).  mtime is used when the content is new to
 * the store; later trees share that inode and so its mtime.
 */
struct pub_rsync_obj {
	const char	*uri;	/* rsync URI below the base URI */
	const uint8_t	*data;
	size_t		 len;
	const uint8_t	*hash;	/* SHA-256 of data, or NULL: computed */
	int64_t		 mtime;	/* 0: pub_rsync_mtime() of the object */
	int		 stored;	/* data not given (NULL, 0): the content
				 * store holds hash (pub_rsync_stored()) */
};

struct pub_rsync_stats {
	size_t	linked;		/* objects found in the content store */
	size_t	written;	/* objects written (new content) */
	size_t	dirs;		/* directory creations (mkdir -p calls) */
};

/*
 * Deterministic mtime of an object as the publication BCP asks: a
 * certificate's notBefore (.cer), a CRL's thisUpdate (.crl), a signed
 * object's CMS signing-time (.roa .mft .asa .gbr .sig .tak .spl).  Returns
 * PUB_RSYNC_FIXED_MTIME when the type is unknown or the time unreadable.
 */
int64_t	pub_rsync_mtime(const char *uri, const uint8_t *data, size_t len);

/*
 * Builds the complete tree trees/<serial> for the n objects (their URIs
 * must lie below base_uri, an rsync directory URI that maps to the tree
 * root, and be unique).  serial must be above the current tree's.  A stale
 * trees/<serial>.new or never-activated trees/<serial> is removed first.
 * st may be NULL.  Returns 0, or -1 with err set (current is untouched).
 */
int	pub_rsync_build(const char *root, const char *base_uri,
	    uint64_t serial, const struct pub_rsync_obj *objs, size_t n,
	    struct pub_rsync_stats *st, struct cm_err *err);

/*
 * Makes trees/<serial> (built by pub_rsync_build()) current: records now
 * as its activation time, then renames a new symlink over current.
 * Returns 0 or -1.
 */
int	pub_rsync_activate(const char *root, uint64_t serial, int64_t now,
	    struct cm_err *err);

/* pub_rsync_build() then pub_rsync_activate(). */
int	pub_rsync_publish(const char *root, const char *base_uri,
	    uint64_t serial, const struct pub_rsync_obj *objs, size_t n,
	    int64_t now, struct pub_rsync_stats *st, struct cm_err *err);

/*
 * 1 when the content store under root holds the object named by hash
 * (which a pub_rsync_obj then need not carry), 0 when it does not.
 */
int	pub_rsync_stored(const char *root, const uint8_t hash[32]);

/*
 * Reads every content-store entry under root and removes those whose bytes
 * no longer match their name, or that are not read-only regular files (a
 * tree's file edited by hand edits its store entry: they share the inode),
 * so that the next tree writes them anew from the caller's data.  The
 * trees still linking the old inodes are replaced by the next one.
 * *removed (may be NULL) counts them.  Returns 0 or -1.
 */
int	pub_rsync_verify_store(const char *root, size_t *removed,
	    struct cm_err *err);

/*
 * Reads the serial of the current tree into *serial (0 if there is none).
 * Returns 0 or -1.
 */
int	pub_rsync_current(const char *root, uint64_t *serial,
	    struct cm_err *err);

/*
 * Removes trees that stopped being current at least grace seconds before
 * now (rsync clients that started on them have finished), stale builds and
 * never-activated trees, then the content-store entries no tree uses any
 * more.  *removed (may be NULL) counts the trees removed.  Returns 0 or -1.
 */
int	pub_rsync_cleanup(const char *root, int64_t now, int64_t grace,
	    size_t *removed, struct cm_err *err);

#endif
