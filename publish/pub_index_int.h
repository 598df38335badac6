/*
 * pub_index_int: what pub_index.c (the tree, lookups, snapshots) and
 * pub_index_apply.c (batches) share.  Not part of the module's interface.
 */
#ifndef PUB_INDEX_INT_H
#define PUB_INDEX_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "publish/pub_index.h"

/*
 * Entries live in leaf chunks of IX_CHUNK to 2 * IX_CHUNK - 1 entries,
 * chunks in nodes of IX_FAN to 2 * IX_FAN - 1 chunks, and an index is an
 * array of nodes (the last chunk and node, and those of a small
 * repository, may be smaller).  A batch rebuilds the chunks and nodes on
 * the path of its changes and shares the rest: O(changes x (IX_CHUNK +
 * IX_FAN)) work plus one reference per node (about 70 for 300,000
 * objects).  With a single level of chunks every batch touched every
 * chunk (a reference each), which grew with the repository.
 */
#define IX_CHUNK		64
#define IX_FAN		64

struct ent {
	atomic_size_t	 refs;
	char		*uri;
	int64_t		 publisher;
	uint8_t		 hash[32];
	uint64_t	 dh[4];		/* this object's share of the digest */
	uint8_t		*frag;		/* "  <publish uri=...>...</publish>\n" */
	size_t		 fraglen;
};

struct chunk {
	atomic_size_t	 refs;
	size_t		 n;		/* entries */
	size_t		 bytes;		/* sum of fraglen */
	const char	*first;		/* v[0]->uri */
	struct ent	*v[];
};

struct node {
	atomic_size_t	 refs;
	size_t		 nc;		/* chunks */
	size_t		 n;		/* entries */
	size_t		 bytes;
	const char	*first;		/* c[0]->first */
	struct chunk	*c[];
};

struct pub_index {
	atomic_size_t	  refs;
	struct node	**t;
	size_t		  nt;
	size_t		  n;		/* objects */
	size_t		  bytes;	/* sum of fraglen */
	uint64_t	  digest[4];
};

/* Drop one reference; the last frees (what it holds too).  NULL is ok. */
void	pub_index__ent_unref(struct ent *e);
void	pub_index__chunk_unref(struct chunk *c);
void	pub_index__node_unref(struct node *nd);

/* res = the number of the n leading keys (key_of(i)) that are <= uri. */
#define IX_UPPER(res, n, key_of, uri) do {					\
	size_t	lo_ = 0, hi_ = (n), mid_;				\
									\
	while (lo_ < hi_) {						\
		mid_ = lo_ + (hi_ - lo_) / 2;				\
		if (strcmp(key_of(mid_), (uri)) <= 0)			\
			lo_ = mid_ + 1;					\
		else							\
			hi_ = mid_;					\
	}								\
	(res) = lo_;							\
} while (0)

#endif
