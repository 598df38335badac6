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
 * new one that shares the unchanged entries, so the caller can keep the
 * old index until the database transaction that publishes the batch has
 * committed, and throw away the new one if it failed.
 *
 * Entries live in sorted chunks of a few hundred; an index is an array of
 * chunk pointers.  A batch copies that array and rebuilds only the chunks
 * it touches, so applying k changes to n objects costs O(n / 256 + 256 k)
 * pointer operations, not O(n): the serial builder's critical path does
 * not grow with the repository.  Reference counts (chunks, entries) are
 * atomic and indexes immutable, so one thread may concatenate the snapshot
 * of an index and free it while another applies a batch to it.
 *
 * Each index also carries a digest of its content (uri, object hash) that
 * does not depend on the order objects arrived in, updated in O(changes):
 * the builder records it with each serial and compares it with the
 * repository in the database when it loads.
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

/* An empty index (one reference), or NULL on ENOMEM. */
struct pub_index *pub_index_new(void);
/* Another reference to ix (which is immutable), dropped with _free(). */
struct pub_index *pub_index_ref(const struct pub_index *ix);
/* Drops a reference; the last one frees.  NULL is ok. */
void	pub_index_free(struct pub_index *ix);

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

/* Total size of the snapshot's <publish> elements (without root). */
size_t	pub_index_bytes(const struct pub_index *ix);

/*
 * The content digest of ix: the sum, in four 64-bit lanes, of
 * SHA-256(uri, 0, SHA-256(object)) over the objects.  Equal content gives
 * an equal digest whatever the history.
 */
void	pub_index_digest(const struct pub_index *ix, uint8_t out[32]);

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
