/*
 * pub_index: the in-memory image of the repository that the publication
 * leader builds snapshots from.
 *
 * Objects are kept sorted by URI (strcmp order), each with its <publish>
 * element of the snapshot already encoded (base64 and escaping done once,
 * when the object is published).  Building the snapshot of a serial is then
 * one concatenation of the fragments in URI order, which gives the same
 * bytes on every run and every machine, and costs a memcpy of the snapshot
 * instead of re-encoding the whole repository.
 *
 * Applying a batch never modifies an index: pub_index_apply() returns a
 * new one that shares the unchanged entries (reference counted), so the
 * caller can keep the old index until the database transaction that
 * publishes the batch has committed, and throw away the new one if it
 * failed.  Single-threaded.
 */
#ifndef PUB_INDEX_H
#define PUB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

struct pub_index;

/* One net change of a batch: publish (data != NULL) or withdraw. */
struct pub_index_change {
	const char	*uri;
	int64_t		 publisher;
	const uint8_t	*data;		/* NULL: withdraw */
	size_t		 len;
};

/* An empty index, or NULL on ENOMEM. */
struct pub_index *pub_index_new(void);
void	pub_index_free(struct pub_index *ix);		/* NULL is ok */

size_t	pub_index_count(const struct pub_index *ix);

/*
 * Looks uri up: 1 with hash (and *publisher, may be NULL) set when present,
 * 0 when absent.
 */
int	pub_index_get(const struct pub_index *ix, const char *uri,
	    uint8_t hash[32], int64_t *publisher);

/* Number of objects of publisher (a scan of the index). */
size_t	pub_index_count_publisher(const struct pub_index *ix,
	    int64_t publisher);

/*
 * Makes *out = ix with the n changes applied.  c must be sorted by URI
 * (strcmp) with each URI at most once; a withdraw of an absent URI is
 * ignored.  ix is unchanged and stays valid.  Returns 0, or -1 with err.
 */
int	pub_index_apply(const struct pub_index *ix,
	    const struct pub_index_change *c, size_t n, struct pub_index **out,
	    struct cm_err *err);

/*
 * Writes the RRDP snapshot of ix for session and serial into out (appended).
 * Returns 0 or -1.
 */
int	pub_index_snapshot(const struct pub_index *ix, const char *session,
	    uint64_t serial, struct cm_buf *out, struct cm_err *err);

/* Calls fn for every object in URI order; stops when fn returns -1. */
int	pub_index_foreach(const struct pub_index *ix,
	    int (*fn)(const char *uri, const uint8_t hash[32], void *arg),
	    void *arg);

#endif
