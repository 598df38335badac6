/* Applying a batch to the index: rebuilds the path of each change. */
#include "publish/pub_index_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "publish/pub_rrdp.h"

/* A placeholder session for encoding fragments (never written out). */
#define FRAG_SESSION	"00000000-0000-4000-8000-000000000000"

static void
ent_ref(struct ent *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
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
	uint8_t			 d[32];
	int			 i, k;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->uri = strdup(c->uri)) == NULL) {
		free(e);
		cm_err_set(err, CM_ENOMEM, c->uri, "out of memory");
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->publisher = c->publisher;
	cm_sha256(c->data, c->len, e->hash);
	if (cm_buf_add(&b, e->uri, strlen(e->uri) + 1) == -1 ||
	    cm_buf_add(&b, e->hash, 32) == -1) {
		cm_err_set(err, CM_ENOMEM, c->uri, "out of memory");
		goto fail;
	}
	cm_sha256(b.data, b.len, d);
	for (i = 0; i < 4; i++)
		for (k = 0; k < 8; k++)
			e->dh[i] |= (uint64_t)d[i * 8 + k] << (8 * k);
	cm_buf_reset(&b);
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
	pub_index__ent_unref(e);
	return NULL;
}

/* The index being built by pub_index_apply(). */
struct build {
	struct pub_index	*nx;
	size_t			 cap;		/* of nx->t */
	void			**e;		/* entries of rebuilt chunks */
	size_t			 ne, cape;
	void			**c;		/* chunks of rebuilt nodes */
	size_t			 nc, capc;
};

/* v (n used, *cap allocated, elements of size) with room for one more. */
static void *
reserve(void *v, size_t size, size_t n, size_t *cap)
{
	void	*nv;
	size_t	 ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? 2 * *cap : 64;
	if ((nv = realloc(v, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

/* Appends p to the carry v (n, cap).  0 or -1. */
static int
carry(void ***v, size_t *n, size_t *cap, void *p)
{
	void	**nv;

	if ((nv = reserve(*v, sizeof(**v), *n, cap)) == NULL)
		return -1;
	*v = nv;
	nv[(*n)++] = p;
	return 0;
}

static int
push_node(struct build *bd, struct node *nd)
{
	struct node	**t;

	if ((t = reserve(bd->nx->t, sizeof(*t), bd->nx->nt, &bd->cap)) ==
	    NULL)
		return -1;
	bd->nx->t = t;
	t[bd->nx->nt++] = nd;
	bd->nx->n += nd->n;
	bd->nx->bytes += nd->bytes;
	return 0;
}

/*
 * Splits the carried n items (at v) into pieces of min to 2 * min - 1
 * (one smaller piece when n < min); make() builds one from m items and
 * takes their references, push() hands it on.  What was not handed on
 * stays carried.  Returns 0 or -1.
 */
static int
split(struct build *bd, void **v, size_t *n, size_t min,
    void *(*make)(void **, size_t), int (*push)(struct build *, void *))
{
	size_t	p, i, m, at = 0;
	void	*x;
	int	rc = 0;

	p = *n / min > 0 ? *n / min : 1;
	for (i = 0; i < p && *n > 0; i++) {
		m = *n / p + (i < *n % p);
		if ((x = make(v + at, m)) == NULL) {
			rc = -1;
			break;
		}
		if (push(bd, x) == -1) {
			free(x);	/* the carry keeps the references */
			rc = -1;
			break;
		}
		at += m;
	}
	memmove(v, v + at, (*n - at) * sizeof(*v));
	*n -= at;
	return rc;
}

static void *
make_chunk(void **v, size_t m)
{
	struct chunk	*c;
	size_t		 k;

	if ((c = malloc(sizeof(*c) + m * sizeof(c->v[0]))) == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->n = m;
	c->bytes = 0;
	for (k = 0; k < m; k++) {
		c->v[k] = v[k];
		c->bytes += c->v[k]->fraglen;
	}
	c->first = c->v[0]->uri;
	return c;
}

static void *
make_node(void **v, size_t m)
{
	struct node	*nd;
	size_t		 k;

	if ((nd = malloc(sizeof(*nd) + m * sizeof(nd->c[0]))) == NULL)
		return NULL;
	atomic_init(&nd->refs, 1);
	nd->nc = m;
	nd->n = nd->bytes = 0;
	for (k = 0; k < m; k++) {
		nd->c[k] = v[k];
		nd->n += nd->c[k]->n;
		nd->bytes += nd->c[k]->bytes;
	}
	nd->first = nd->c[0]->first;
	return nd;
}

static int
push_carried_chunk(struct build *bd, void *c)
{
	return carry(&bd->c, &bd->nc, &bd->capc, c);
}

static int
push_new_node(struct build *bd, void *nd)
{
	return push_node(bd, nd);
}

/* Carried entries into carried chunks. */
static int
flush_e(struct build *bd)
{
	if (bd->ne == 0)
		return 0;
	return split(bd, bd->e, &bd->ne, IX_CHUNK, make_chunk,
	    push_carried_chunk);
}

/* Carried chunks into nodes of the new index. */
static int
flush_c(struct build *bd)
{
	if (bd->nc == 0)
		return 0;
	return split(bd, bd->c, &bd->nc, IX_FAN, make_node,
	    push_new_node);
}

static void
digest_add(uint64_t d[4], const struct ent *e, int sign)
{
	int	i;

	for (i = 0; i < 4; i++)
		d[i] = sign > 0 ? d[i] + e->dh[i] : d[i] - e->dh[i];
}

static int
carry_ent(struct build *bd, struct ent *e)
{
	if (carry(&bd->e, &bd->ne, &bd->cape, e) == -1) {
		pub_index__ent_unref(e);
		return -1;
	}
	return 0;
}

/* Merges chunk ch (may be NULL) with the m changes c into the carry. */
static int
merge(struct build *bd, const struct chunk *ch,
    const struct pub_index_change *c, size_t m, struct cm_err *err)
{
	struct ent	*e;
	size_t		 i = 0, j = 0, n = ch != NULL ? ch->n : 0;
	int		 cmp;

	while (i < n || j < m) {
		if (j == m)
			cmp = -1;
		else if (i == n)
			cmp = 1;
		else
			cmp = strcmp(ch->v[i]->uri, c[j].uri);
		if (cmp < 0) {
			e = ch->v[i++];
			ent_ref(e);
			if (carry_ent(bd, e) == -1)
				goto nomem;
			continue;
		}
		if (cmp == 0)		/* replaced or withdrawn */
			digest_add(bd->nx->digest, ch->v[i++], -1);
		if (c[j].data != NULL) {
			if ((e = ent_new(&c[j], err)) == NULL)
				return -1;
			digest_add(bd->nx->digest, e, 1);
			if (carry_ent(bd, e) == -1)
				goto nomem;
		}
		j++;
	}
	return 0;
nomem:
	return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
}

/* How many of the n changes at c sort before next (NULL: all). */
static size_t
before(const struct pub_index_change *c, size_t n, const char *next)
{
	size_t	k = 0;

	if (next == NULL)
		return n;
	while (k < n && strcmp(c[k].uri, next) < 0)
		k++;
	return k;
}

/*
 * The child (chunk of nd, or node of ix) that uri falls in: a binary
 * search, so that the children before it are passed over without reading
 * their keys (the cache misses that grow with the repository).
 */
static size_t
chunk_of(const struct node *nd, const char *uri)
{
	size_t	k;

#define CHUNK_KEY(i)	(nd->c[(i)]->first)
	IX_UPPER(k, nd->nc, CHUNK_KEY, uri);
#undef CHUNK_KEY
	return k > 0 ? k - 1 : 0;
}

static size_t
node_of(const struct pub_index *ix, const char *uri)
{
	size_t	k;

#define NODE_KEY(i)	(ix->t[(i)]->first)
	IX_UPPER(k, ix->nt, NODE_KEY, uri);
#undef NODE_KEY
	return k > 0 ? k - 1 : 0;
}

/*
 * The chunks of node nd with the m changes c (all of them belong there).
 * An untouched chunk is shared, unless a small rest of rebuilt entries
 * before it would make a tiny chunk: then it joins them.
 */
static int
apply_node(struct build *bd, const struct node *nd,
    const struct pub_index_change *c, size_t m, struct cm_err *err)
{
	struct chunk	*ch;
	size_t		 i, k, next = m > 0 ? chunk_of(nd, c[0].uri) : nd->nc;

	for (i = 0; i < nd->nc; i++) {
		ch = nd->c[i];
		k = i < next ? 0 : before(c, m, i + 1 < nd->nc ?
		    nd->c[i + 1]->first : NULL);
		if (k == 0 && (bd->ne == 0 || bd->ne >= IX_CHUNK / 4)) {
			if (flush_e(bd) == -1)
				goto nomem;
			atomic_fetch_add_explicit(&ch->refs, 1,
			    memory_order_relaxed);
			if (push_carried_chunk(bd, ch) == -1) {
				pub_index__chunk_unref(ch);
				goto nomem;
			}
		} else {
			if (merge(bd, ch, c, k, err) == -1)
				return -1;
			c += k;
			m -= k;
			if (k > 0)
				next = m > 0 ? chunk_of(nd, c[0].uri) : nd->nc;
			if (bd->ne >= IX_CHUNK && flush_e(bd) == -1)
				goto nomem;
		}
		if (bd->nc >= IX_FAN && flush_c(bd) == -1)
			goto nomem;
	}
	return 0;
nomem:
	return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
}

static int
apply_nodes(const struct pub_index *ix, const struct pub_index_change *c,
    size_t n, struct build *bd, struct cm_err *err)
{
	struct node	*nd;
	size_t		 i, k, next;

	if (ix->nt == 0)
		return merge(bd, NULL, c, n, err);
	next = n > 0 ? node_of(ix, c[0].uri) : ix->nt;
	for (i = 0; i < ix->nt; i++) {
		nd = ix->t[i];
		k = i < next ? 0 : before(c, n, i + 1 < ix->nt ?
		    ix->t[i + 1]->first : NULL);
		if (k == 0 && bd->ne >= IX_CHUNK / 4 && flush_e(bd) == -1)
			goto nomem;
		/* Shared whole when nothing carried would be left tiny. */
		if (k == 0 && bd->ne == 0 && (bd->nc == 0 ||
		    bd->nc >= IX_FAN / 4)) {
			if (flush_c(bd) == -1)
				goto nomem;
			atomic_fetch_add_explicit(&nd->refs, 1,
			    memory_order_relaxed);
			if (push_node(bd, nd) == -1) {
				pub_index__node_unref(nd);
				goto nomem;
			}
			continue;
		}
		if (apply_node(bd, nd, c, k, err) == -1)
			return -1;
		c += k;
		n -= k;
		if (k > 0)
			next = n > 0 ? node_of(ix, c[0].uri) : ix->nt;
	}
	return 0;
nomem:
	return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
}

int
pub_index_apply(const struct pub_index *ix, const struct pub_index_change *c,
    size_t n, struct pub_index **out, struct cm_err *err)
{
	struct build	bd;
	size_t		j;
	int		rc = -1;

	*out = NULL;
	for (j = 1; j < n; j++)
		if (strcmp(c[j - 1].uri, c[j].uri) >= 0)
			return cm_err_set(err, CM_EINVAL, c[j].uri,
			    "changes not sorted by URI or URI twice");
	memset(&bd, 0, sizeof(bd));
	if ((bd.nx = pub_index_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	memcpy(bd.nx->digest, ix->digest, sizeof(ix->digest));
	if (apply_nodes(ix, c, n, &bd, err) == -1)
		goto out;
	if (flush_e(&bd) == -1 || flush_c(&bd) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	*out = bd.nx;
	bd.nx = NULL;
	rc = 0;
out:
	for (j = 0; j < bd.ne; j++)
		pub_index__ent_unref(bd.e[j]);
	for (j = 0; j < bd.nc; j++)
		pub_index__chunk_unref(bd.c[j]);
	free(bd.e);
	free(bd.c);
	pub_index_free(bd.nx);
	return rc;
}

