/*
 * PKCS#11 backend: the cache of private key object handles by key id.
 *
 * A PKCS#11 token finds objects by a linear search in most modules
 * (SoftHSM2 compares the template with every object, decrypting the
 * attributes of private ones), so that a find costs more the more keys the
 * token holds.  The CA engine finds a CA's key for every change; the handle
 * does not change while the object lives and the application stays logged
 * in, so it is kept here.
 *
 * The table is set-associative: an id's set is chosen by a hash of the id,
 * each set holds P11_CACHE_WAYS entries, and the least recently used one of
 * the set is replaced.  Memory is fixed at open; every operation is O(1).
 */
#include "hsm/hsm_p11.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a of the id; ids are hex of a SHA-1, but keep any input spread. */
static unsigned
set_of(const struct p11_cache *c, const char *id)
{
	uint32_t	h = 2166136261u;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 16777619u;
	}
	return h & (c->nsets - 1);
}

int
hsm__p11_cache_init(struct p11_cache *c, int size, struct cm_err *err)
{
	unsigned	want;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mtx, NULL);
	if (size < 0)
		return 0;
	if (size == 0)
		size = P11_CACHE_DEFAULT;
	if (size > 1 << 24)
		return cm_err_set(err, CM_EINVAL, "pkcs11", "a key cache has "
		    "at most %d entries", 1 << 24);
	want = ((unsigned)size + P11_CACHE_WAYS - 1) / P11_CACHE_WAYS;
	for (c->nsets = 1; c->nsets < want; c->nsets <<= 1)
		;
	if ((c->ent = calloc((size_t)c->nsets * P11_CACHE_WAYS,
	    sizeof(*c->ent))) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	c->st.capacity = c->nsets * P11_CACHE_WAYS;
	return 0;
}

void
hsm__p11_cache_free(struct p11_cache *c)
{
	free(c->ent);
	c->ent = NULL;
	pthread_mutex_destroy(&c->mtx);
}

/* The entry of id in its set, or NULL (called with mtx held). */
static struct p11_cache_ent *
lookup(struct p11_cache *c, const char *id)
{
	struct p11_cache_ent	*e = &c->ent[set_of(c, id) * P11_CACHE_WAYS];

	for (int i = 0; i < P11_CACHE_WAYS; i++)
		if (strcmp(e[i].id, id) == 0)
			return &e[i];
	return NULL;
}

int
hsm__p11_cache_get(struct p11_cache *c, const char *id, unsigned epoch,
    CK_OBJECT_HANDLE *out)
{
	struct p11_cache_ent	*e;
	int			 hit = 0;

	pthread_mutex_lock(&c->mtx);
	/* An entry of an older epoch may name a handle of dead sessions. */
	if (c->ent != NULL && (e = lookup(c, id)) != NULL &&
	    e->epoch == epoch) {
		e->used = ++c->tick;
		*out = e->h;
		hit = 1;
		c->st.hits++;
	} else
		c->st.misses++;
	pthread_mutex_unlock(&c->mtx);
	return hit;
}

void
hsm__p11_cache_put(struct p11_cache *c, const char *id, unsigned epoch,
    CK_OBJECT_HANDLE h)
{
	struct p11_cache_ent	*e, *set;

	if (c->ent == NULL || strlen(id) != HSM_KEY_ID_LEN)
		return;
	pthread_mutex_lock(&c->mtx);
	if ((e = lookup(c, id)) == NULL) {
		set = &c->ent[set_of(c, id) * P11_CACHE_WAYS];
		e = &set[0];
		for (int i = 1; i < P11_CACHE_WAYS && e->id[0] != '\0'; i++)
			if (set[i].id[0] == '\0' || set[i].used < e->used)
				e = &set[i];
		if (e->id[0] != '\0')
			c->st.evictions++;
		else
			c->st.used++;
		memcpy(e->id, id, HSM_KEY_ID_LEN + 1);
	}
	e->h = h;
	e->epoch = epoch;
	e->used = ++c->tick;
	pthread_mutex_unlock(&c->mtx);
}

void
hsm__p11_cache_drop(struct p11_cache *c, const char *id, int stale)
{
	struct p11_cache_ent	*e;

	if (c->ent == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	if ((e = lookup(c, id)) != NULL) {
		memset(e, 0, sizeof(*e));
		c->st.used--;
		if (stale)
			c->st.stale++;
	}
	pthread_mutex_unlock(&c->mtx);
}

void
hsm__p11_cache_stats(struct p11_cache *c, struct hsm_p11_cache_stats *out)
{
	pthread_mutex_lock(&c->mtx);
	*out = c->st;
	pthread_mutex_unlock(&c->mtx);
}
