/*
 * In-memory signer backend: keys are OpenSSL keys held in a list for the
 * life of the struct hsm.  For tests and tools, never for CA keys in
 * production (nothing is persisted).
 */
#include "hsm/hsm_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mem_entry {
	struct mem_entry	*next;
	char			 id[HSM_KEY_ID_LEN + 1];
	EVP_PKEY		*pkey;
};

struct mem_state {
	pthread_mutex_t		 mtx;
	struct mem_entry	*keys;
};

static int
mem_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	struct mem_state	*st = h->impl;
	struct mem_entry	*e;
	struct hsm_key		*k;
	EVP_PKEY		*pkey;

	if ((pkey = hsm__rsa_generate(err)) == NULL)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (k = hsm__key_new(h, pkey, err)) == NULL) {
		if (e == NULL)
			cm_err_set(err, CM_ENOMEM, label, "out of memory");
		free(e);
		EVP_PKEY_free(pkey);
		return -1;
	}
	memcpy(e->id, k->id, sizeof(e->id));
	e->pkey = pkey;
	pthread_mutex_lock(&st->mtx);
	e->next = st->keys;
	st->keys = e;
	pthread_mutex_unlock(&st->mtx);
	*out = k;
	return 0;
}

static int
mem_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	struct mem_state	*st = h->impl;
	struct mem_entry	*e;
	struct hsm_key		*k = NULL;

	pthread_mutex_lock(&st->mtx);
	for (e = st->keys; e != NULL; e = e->next)
		if (strcmp(e->id, id) == 0)
			break;
	if (e != NULL)
		k = hsm__key_new(h, e->pkey, err);
	pthread_mutex_unlock(&st->mtx);
	if (e == NULL)
		return cm_err_set(err, CM_ENOTFOUND, id, "no such key");
	if (k == NULL)
		return -1;
	*out = k;
	return 0;
}

static int
mem_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	struct mem_state	*st = k->hsm->impl;
	struct mem_entry	**pp, *e;

	pthread_mutex_lock(&st->mtx);
	for (pp = &st->keys; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->id, k->id) == 0) {
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&st->mtx);
	if (e == NULL)
		return cm_err_set(err, CM_ENOTFOUND, k->id, "no such key");
	EVP_PKEY_free(e->pkey);
	free(e);
	return 0;
}

static int
mem_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	/* The handle's key is the full private key for this backend. */
	return hsm__evp_sign(k->pub, digest, sig, siglen, err);
}

static void
mem_close(struct hsm *h)
{
	struct mem_state	*st = h->impl;
	struct mem_entry	*e;

	while ((e = st->keys) != NULL) {
		st->keys = e->next;
		EVP_PKEY_free(e->pkey);
		free(e);
	}
	pthread_mutex_destroy(&st->mtx);
	free(st);
	free(h);
}

static const struct hsm_ops mem_ops = {
	.name = "mem",
	.key_create = mem_key_create,
	.key_find = mem_key_find,
	.key_destroy = mem_key_destroy,
	.key_sign = mem_key_sign,
	.key_release = NULL,
	.close = mem_close,
};

struct hsm *
hsm_open_mem(void)
{
	struct hsm		*h;
	struct mem_state	*st;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&st->mtx, NULL);
	h->ops = &mem_ops;
	h->impl = st;
	return h;
}
