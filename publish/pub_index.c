/* In-memory sorted index of pre-encoded snapshot fragments, in chunks. */
#include "publish/pub_index.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "publish/pub_rrdp.h"

/* A placeholder session for encoding fragments (never written out). */
#define FRAG_SESSION	"00000000-0000-4000-8000-000000000000"

/*
 * Chunks hold CHUNK to 2 * CHUNK - 1 entries (the last one and those of a
 * small repository fewer): small enough that rebuilding one per change is
 * cheap, large enough that the chunk array of 500,000 objects is 16 kB.
 */
#define CHUNK		256

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
	size_t		 n;
	size_t		 bytes;		/* sum of fraglen */
	struct ent	*v[];
};

struct pub_index {
	atomic_size_t	  refs;
	struct chunk	**c;
	size_t		  nc;
	size_t		  n;		/* objects */
	size_t		  bytes;	/* sum of fraglen */
	uint64_t	  digest[4];
};

static void
ent_ref(struct ent *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

static void
ent_unref(struct ent *e)
{
	if (e == NULL ||
	    atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(e->uri);
	free(e->frag);
	free(e);
}

static void
chunk_unref(struct chunk *c)
{
	size_t	i;

	if (c == NULL ||
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < c->n; i++)
		ent_unref(c->v[i]);
	free(c);
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
	for (i = 0; i < ix->nc; i++)
		chunk_unref(ix->c[i]);
	free(ix->c);
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
	const struct chunk	*ch;
	size_t			 lo = 0, hi = ix->nc, mid;
	int			 c;

	/* The last chunk whose first URI is <= uri. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(ix->c[mid]->v[0]->uri, uri) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	ch = ix->c[lo - 1];
	lo = 0;
	hi = ch->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ch->v[mid]->uri, uri);
		if (c == 0)
			return ch->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
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

size_t
pub_index_count_publisher(const struct pub_index *ix, int64_t publisher)
{
	size_t	i, j, n = 0;

	for (i = 0; i < ix->nc; i++)
		for (j = 0; j < ix->c[i]->n; j++)
			if (ix->c[i]->v[j]->publisher == publisher)
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
	ent_unref(e);
	return NULL;
}

/* The index being built by pub_index_apply(). */
struct build {
	struct pub_index	*nx;
	size_t			 cap;		/* of nx->c */
	struct ent		**carry;	/* entries of rebuilt chunks */
	size_t			 ncarry, capcarry;
};

static int
push_chunk(struct build *bd, struct chunk *c)
{
	struct chunk	**v;

	if (bd->nx->nc == bd->cap) {
		bd->cap = bd->cap ? 2 * bd->cap : 16;
		if ((v = realloc(bd->nx->c, bd->cap * sizeof(*v))) == NULL)
			return -1;
		bd->nx->c = v;
	}
	bd->nx->c[bd->nx->nc++] = c;
	bd->nx->n += c->n;
	bd->nx->bytes += c->bytes;
	return 0;
}

/* Appends e (a reference the carry now owns). */
static int
carry_add(struct build *bd, struct ent *e)
{
	struct ent	**v;

	if (bd->ncarry == bd->capcarry) {
		bd->capcarry = bd->capcarry ? 2 * bd->capcarry : 4 * CHUNK;
		if ((v = realloc(bd->carry, bd->capcarry * sizeof(*v))) ==
		    NULL)
			return -1;
		bd->carry = v;
	}
	bd->carry[bd->ncarry++] = e;
	return 0;
}

/* Turns the carried entries into chunks of CHUNK to 2 * CHUNK - 1. */
static int
flush(struct build *bd)
{
	struct chunk	*c;
	size_t		 p, i, k, m, at = 0;
	int		 rc = 0;

	if (bd->ncarry == 0)
		return 0;
	p = bd->ncarry / CHUNK > 0 ? bd->ncarry / CHUNK : 1;
	for (i = 0; i < p && rc == 0; i++) {
		m = bd->ncarry / p + (i < bd->ncarry % p);
		if ((c = malloc(sizeof(*c) + m * sizeof(c->v[0]))) == NULL) {
			rc = -1;
			break;
		}
		atomic_init(&c->refs, 1);
		c->n = m;
		c->bytes = 0;
		for (k = 0; k < m; k++) {
			c->v[k] = bd->carry[at + k];
			c->bytes += c->v[k]->fraglen;
		}
		if (push_chunk(bd, c) == -1) {
			free(c);	/* the carry keeps the references */
			rc = -1;
			break;
		}
		at += m;
	}
	/* What went into chunks leaves the carry. */
	memmove(bd->carry, bd->carry + at, (bd->ncarry - at) *
	    sizeof(*bd->carry));
	bd->ncarry -= at;
	return rc;
}

static void
digest_add(uint64_t d[4], const struct ent *e, int sign)
{
	int	i;

	for (i = 0; i < 4; i++)
		d[i] = sign > 0 ? d[i] + e->dh[i] : d[i] - e->dh[i];
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
			if (carry_add(bd, e) == -1) {
				ent_unref(e);
				goto nomem;
			}
			continue;
		}
		if (cmp == 0)		/* replaced or withdrawn */
			digest_add(bd->nx->digest, ch->v[i++], -1);
		if (c[j].data != NULL) {
			if ((e = ent_new(&c[j], err)) == NULL)
				return -1;
			if (carry_add(bd, e) == -1) {
				ent_unref(e);
				goto nomem;
			}
			digest_add(bd->nx->digest, e, 1);
		}
		j++;
	}
	return 0;
nomem:
	return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
}

/* The number of changes from c[j] on that fall before chunk ci + 1. */
static size_t
changes_of(const struct pub_index *ix, size_t ci,
    const struct pub_index_change *c, size_t j, size_t n)
{
	const char	*next;
	size_t		 end = j;

	if (ci + 1 == ix->nc)
		return n - j;
	next = ix->c[ci + 1]->v[0]->uri;
	while (end < n && strcmp(c[end].uri, next) < 0)
		end++;
	return end - j;
}

static int
apply_chunks(const struct pub_index *ix, const struct pub_index_change *c,
    size_t n, struct build *bd, struct cm_err *err)
{
	struct chunk	*ch;
	size_t		 ci, j = 0, m;

	if (ix->nc == 0)
		return merge(bd, NULL, c, n, err);
	for (ci = 0; ci < ix->nc; ci++) {
		ch = ix->c[ci];
		m = changes_of(ix, ci, c, j, n);
		/*
		 * An untouched chunk is shared, unless a small rest of the
		 * rebuilt ones before it would make a tiny chunk: then it
		 * joins them.
		 */
		if (m == 0 && (bd->ncarry == 0 || bd->ncarry >= CHUNK / 4)) {
			if (flush(bd) == -1)
				goto nomem;
			atomic_fetch_add_explicit(&ch->refs, 1,
			    memory_order_relaxed);
			if (push_chunk(bd, ch) == -1) {
				chunk_unref(ch);
				goto nomem;
			}
			continue;
		}
		if (merge(bd, ch, c + j, m, err) == -1)
			return -1;
		j += m;
		if (bd->ncarry >= CHUNK && flush(bd) == -1)
			goto nomem;
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
	if (apply_chunks(ix, c, n, &bd, err) == -1)
		goto out;
	if (flush(&bd) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	*out = bd.nx;
	bd.nx = NULL;
	rc = 0;
out:
	for (j = 0; j < bd.ncarry; j++)
		ent_unref(bd.carry[j]);
	free(bd.carry);
	pub_index_free(bd.nx);
	return rc;
}

int
pub_index_snapshot(const struct pub_index *ix, const char *session,
    uint64_t serial, struct cm_buf *out, struct cm_err *err)
{
	struct pub_rrdp_writer	 w;
	const struct chunk	*ch;
	size_t			 i, j;

	if (pub_rrdp_begin(&w, out, PUB_RRDP_SNAPSHOT, session, serial,
	    err) == -1)
		return -1;
	if (cm_buf_reserve(out, ix->bytes + 16) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (i = 0; i < ix->nc; i++) {
		ch = ix->c[i];
		for (j = 0; j < ch->n; j++)
			cm_buf_add(out, ch->v[j]->frag, ch->v[j]->fraglen);
	}
	return pub_rrdp_end(&w, err);
}

int
pub_index_foreach(const struct pub_index *ix,
    int (*fn)(const char *, const uint8_t *, void *), void *arg)
{
	size_t	i, j;

	for (i = 0; i < ix->nc; i++)
		for (j = 0; j < ix->c[i]->n; j++)
			if (fn(ix->c[i]->v[j]->uri, ix->c[i]->v[j]->hash,
			    arg) == -1)
				return -1;
	return 0;
}
