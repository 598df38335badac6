/* In-memory sorted index of pre-encoded snapshot fragments, as a tree. */
#include "publish/pub_index_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "publish/pub_rrdp.h"

void
pub_index__ent_unref(struct ent *e)
{
	if (e == NULL ||
	    atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(e->uri);
	free(e->frag);
	free(e);
}

void
pub_index__chunk_unref(struct chunk *c)
{
	size_t	i;

	if (c == NULL ||
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < c->n; i++)
		pub_index__ent_unref(c->v[i]);
	free(c);
}

void
pub_index__node_unref(struct node *nd)
{
	size_t	i;

	if (nd == NULL ||
	    atomic_fetch_sub_explicit(&nd->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < nd->nc; i++)
		pub_index__chunk_unref(nd->c[i]);
	free(nd);
}

struct pub_index *
pub_index_new(void)
{
	struct pub_index	*ix = calloc(1, sizeof(*ix));

	if (ix != NULL)
		atomic_init(&ix->refs, 1);
	return ix;
}

struct pub_index *
pub_index_ref(const struct pub_index *ix)
{
	struct pub_index	*m = (struct pub_index *)ix;

	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void
pub_index_free(struct pub_index *ix)
{
	size_t	i;

	if (ix == NULL ||
	    atomic_fetch_sub_explicit(&ix->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < ix->nt; i++)
		pub_index__node_unref(ix->t[i]);
	free(ix->t);
	free(ix);
}

size_t
pub_index_count(const struct pub_index *ix)
{
	return ix->n;
}

size_t
pub_index_bytes(const struct pub_index *ix)
{
	return ix->bytes;
}

void
pub_index_digest(const struct pub_index *ix, uint8_t out[32])
{
	int	i, k;

	/* Little-endian lanes, so that the bytes do not depend on the host. */
	for (i = 0; i < 4; i++)
		for (k = 0; k < 8; k++)
			out[i * 8 + k] = (uint8_t)(ix->digest[i] >> (8 * k));
}

/* The entry of uri, or NULL. */
static const struct ent *
find(const struct pub_index *ix, const char *uri)
{
	const struct node	*nd;
	const struct chunk	*ch;
	size_t			 k;

#define NODE_KEY(i)	(ix->t[(i)]->first)
#define CHUNK_KEY(i)	(nd->c[(i)]->first)
#define ENT_KEY(i)	(ch->v[(i)]->uri)
	IX_UPPER(k, ix->nt, NODE_KEY, uri);
	if (k == 0)
		return NULL;
	nd = ix->t[k - 1];
	IX_UPPER(k, nd->nc, CHUNK_KEY, uri);
	if (k == 0)
		return NULL;
	ch = nd->c[k - 1];
	IX_UPPER(k, ch->n, ENT_KEY, uri);
	if (k == 0 || strcmp(ch->v[k - 1]->uri, uri) != 0)
		return NULL;
	return ch->v[k - 1];
#undef NODE_KEY
#undef CHUNK_KEY
#undef ENT_KEY
}

int
pub_index_get(const struct pub_index *ix, const char *uri, uint8_t hash[32],
    int64_t *publisher)
{
	const struct ent	*e = find(ix, uri);

	if (e == NULL)
		return 0;
	memcpy(hash, e->hash, 32);
	if (publisher != NULL)
		*publisher = e->publisher;
	return 1;
}

/* Calls fn for every entry in URI order; stops when fn returns -1. */
static int
walk(const struct pub_index *ix, int (*fn)(const struct ent *, void *),
    void *arg)
{
	size_t	i, j, k;

	for (i = 0; i < ix->nt; i++)
		for (j = 0; j < ix->t[i]->nc; j++)
			for (k = 0; k < ix->t[i]->c[j]->n; k++)
				if (fn(ix->t[i]->c[j]->v[k], arg) == -1)
					return -1;
	return 0;
}

struct count_arg {
	int64_t	publisher;
	size_t	n;
};

static int
count_one(const struct ent *e, void *arg)
{
	struct count_arg	*a = arg;

	if (e->publisher == a->publisher)
		a->n++;
	return 0;
}

size_t
pub_index_count_publisher(const struct pub_index *ix, int64_t publisher)
{
	struct count_arg	a = { publisher, 0 };

	walk(ix, count_one, &a);
	return a.n;
}

static int
copy_frag(const struct ent *e, void *arg)
{
	cm_buf_add(arg, e->frag, e->fraglen);
	return 0;
}

int
pub_index_snapshot(const struct pub_index *ix, const char *session,
    uint64_t serial, struct cm_buf *out, struct cm_err *err)
{
	struct pub_rrdp_writer	w;

	if (pub_rrdp_begin(&w, out, PUB_RRDP_SNAPSHOT, session, serial,
	    err) == -1)
		return -1;
	/* Reserved: the appends below cannot fail. */
	if (cm_buf_reserve(out, ix->bytes + 16) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	walk(ix, copy_frag, out);
	return pub_rrdp_end(&w, err);
}

struct foreach_arg {
	int	(*fn)(const char *, const uint8_t *, void *);
	void	*arg;
};

static int
foreach_one(const struct ent *e, void *arg)
{
	struct foreach_arg	*a = arg;

	return a->fn(e->uri, e->hash, a->arg);
}

int
pub_index_foreach(const struct pub_index *ix,
    int (*fn)(const char *, const uint8_t *, void *), void *arg)
{
	struct foreach_arg	a = { fn, arg };

	return walk(ix, foreach_one, &a);
}
