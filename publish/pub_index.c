/* In-memory sorted index of pre-encoded snapshot fragments. */
#include "publish/pub_index.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "publish/pub_rrdp.h"

/* A placeholder session for encoding fragments (never written out). */
#define FRAG_SESSION	"00000000-0000-4000-8000-000000000000"

struct ent {
	size_t		 refs;
	char		*uri;
	int64_t		 publisher;
	uint8_t		 hash[32];
	uint8_t		*frag;		/* "  <publish uri=...>...</publish>\n" */
	size_t		 fraglen;
};

struct pub_index {
	struct ent	**v;
	size_t		  n;
	size_t		  bytes;	/* sum of fraglen */
};

static void
ent_unref(struct ent *e)
{
	if (e == NULL || --e->refs > 0)
		return;
	free(e->uri);
	free(e->frag);
	free(e);
}

struct pub_index *
pub_index_new(void)
{
	return calloc(1, sizeof(struct pub_index));
}

void
pub_index_free(struct pub_index *ix)
{
	size_t	i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n; i++)
		ent_unref(ix->v[i]);
	free(ix->v);
	free(ix);
}

size_t
pub_index_count(const struct pub_index *ix)
{
	return ix->n;
}

static size_t
find(const struct pub_index *ix, const char *uri, int *found)
{
	size_t	lo = 0, hi = ix->n, mid;
	int	c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ix->v[mid]->uri, uri);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
pub_index_get(const struct pub_index *ix, const char *uri, uint8_t hash[32],
    int64_t *publisher)
{
	size_t	i;
	int	found;

	i = find(ix, uri, &found);
	if (!found)
		return 0;
	memcpy(hash, ix->v[i]->hash, 32);
	if (publisher != NULL)
		*publisher = ix->v[i]->publisher;
	return 1;
}

size_t
pub_index_count_publisher(const struct pub_index *ix, int64_t publisher)
{
	size_t	i, n = 0;

	for (i = 0; i < ix->n; i++)
		if (ix->v[i]->publisher == publisher)
			n++;
	return n;
}

/*
 * Encodes the snapshot <publish> element with the RRDP writer itself, so
 * that fragments are byte for byte what a streamed snapshot would hold.
 */
static struct ent *
ent_new(const struct pub_index_change *c, struct cm_err *err)
{
	struct pub_rrdp_writer	 w;
	struct cm_buf		 b = CM_BUF_INIT;
	struct ent		*e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->uri = strdup(c->uri)) == NULL) {
		free(e);
		cm_err_set(err, CM_ENOMEM, c->uri, "out of memory");
		return NULL;
	}
	e->refs = 1;
	e->publisher = c->publisher;
	cm_sha256(c->data, c->len, e->hash);
	if (pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, FRAG_SESSION, 1,
	    err) == -1)
		goto fail;
	cm_buf_reset(&b);
	if (pub_rrdp_write_publish(&w, c->uri, NULL, c->data, c->len,
	    err) == -1)
		goto fail;
	e->frag = cm_buf_steal(&b, &e->fraglen);
	return e;
fail:
	cm_buf_free(&b);
	ent_unref(e);
	return NULL;
}

static void
push(struct pub_index *ix, struct ent *e)
{
	ix->v[ix->n++] = e;
	ix->bytes += e->fraglen;
}

int
pub_index_apply(const struct pub_index *ix, const struct pub_index_change *c,
    size_t n, struct pub_index **out, struct cm_err *err)
{
	struct pub_index	*nx;
	struct ent		*e;
	size_t			 i = 0, j = 0;
	int			 cmp;

	*out = NULL;
	for (j = 1; j < n; j++)
		if (strcmp(c[j - 1].uri, c[j].uri) >= 0)
			return cm_err_set(err, CM_EINVAL, c[j].uri,
			    "changes not sorted by URI or URI twice");
	if ((nx = pub_index_new()) == NULL ||
	    (nx->v = calloc(ix->n + n + 1, sizeof(*nx->v))) == NULL) {
		pub_index_free(nx);
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	}
	/* Merge of two sorted sequences: the cost is O(n + changes). */
	j = 0;
	while (i < ix->n || j < n) {
		if (j == n)
			cmp = -1;
		else if (i == ix->n)
			cmp = 1;
		else
			cmp = strcmp(ix->v[i]->uri, c[j].uri);
		if (cmp < 0) {
			e = ix->v[i++];
			e->refs++;
			push(nx, e);
			continue;
		}
		if (cmp == 0)
			i++;		/* replaced or withdrawn */
		if (c[j].data != NULL) {
			if ((e = ent_new(&c[j], err)) == NULL) {
				pub_index_free(nx);
				return -1;
			}
			push(nx, e);
		}
		j++;
	}
	*out = nx;
	return 0;
}

int
pub_index_snapshot(const struct pub_index *ix, const char *session,
    uint64_t serial, struct cm_buf *out, struct cm_err *err)
{
	struct pub_rrdp_writer	w;
	size_t			i;

	if (pub_rrdp_begin(&w, out, PUB_RRDP_SNAPSHOT, session, serial,
	    err) == -1)
		return -1;
	if (cm_buf_reserve(out, ix->bytes + 16) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (i = 0; i < ix->n; i++)
		cm_buf_add(out, ix->v[i]->frag, ix->v[i]->fraglen);
	return pub_rrdp_end(&w, err);
}

int
pub_index_foreach(const struct pub_index *ix,
    int (*fn)(const char *, const uint8_t *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < ix->n; i++)
		if (fn(ix->v[i]->uri, ix->v[i]->hash, arg) == -1)
			return -1;
	return 0;
}
