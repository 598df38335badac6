/*
 * ca_eng bulk creation: many hosted CAs in one transaction.
 *
 * Creating CAs one by one costs a transaction, a CA key made on the
 * caller's thread and a re-issue of the parent's CRL and manifest per
 * child; the parent's manifest lists all its children, so the n-th child
 * costs O(n) and an RIR with ten thousand members O(n^2).  Here the keys
 * are made in parallel before the transaction, and each publication point
 * touched is re-issued (and validated) once per batch.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "ca/engine_int.h"
#include "common/cm_log.h"

#define BULK_THREADS_MAX	64

/* ---- checks that need no database ------------------------------------- */

struct name_idx {
	const char	*handle;
	size_t		 idx;
};

struct byname {
	const struct ca_eng_new_ca	*cas;
	struct name_idx			*v;	/* sorted by handle, index */
	size_t				 n;
};

static int
cmp_name(const void *a, const void *b)
{
	const struct name_idx	*x = a, *y = b;
	int			 c = strcmp(x->handle, y->handle);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first index in cas of handle h, or (size_t)-1. */
static size_t
find(const struct byname *b, const char *h)
{
	size_t	lo = 0, hi = b->n, mid;

	/* The first element not below h. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(b->v[mid].handle, h) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->n && strcmp(b->v[lo].handle, h) == 0)
		return b->v[lo].idx;
	return (size_t)-1;
}

static int
check_entry(const struct byname *b, size_t i, struct cm_err *err)
{
	const struct ca_eng_new_ca	*c = &b->cas[i];
	size_t				 j;

	if (c->handle == NULL || !eng_handle_ok(c->handle))
		return cm_err_set(err, CM_EINVAL, c->handle != NULL ? c->handle :
		    "(null)", "a handle is 1-64 letters, digits, '-', '_' or "
		    "'.', starting with a letter or digit");
	if (c->parent == NULL || c->res == NULL)
		return cm_err_set(err, CM_EINVAL, c->handle, "no parent or no "
		    "resources");
	if (eng_explicit_res(c->handle, c->res, err) == -1)
		return -1;
	if ((j = find(b, c->handle)) != i)
		return cm_err_set(err, CM_EEXIST, c->handle, "listed twice (entry "
		    "%zu and %zu)", j + 1, i + 1);
	if ((j = find(b, c->parent)) != (size_t)-1 && j >= i)
		return cm_err_set(err, CM_EINVAL, c->handle, "its parent %s must "
		    "come before it", c->parent);
	return 0;
}

/* Checks every entry; *bad gets the first one at fault. */
static int
check_all(const struct ca_eng_new_ca *cas, size_t n, size_t *bad,
    struct cm_err *err)
{
	struct byname	b;
	size_t		i;
	int		rc = 0;

	if ((b.v = calloc(n, sizeof(*b.v))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "bulk creation", "out of memory");
	b.cas = cas;
	b.n = n;
	for (i = 0; i < n; i++) {
		if (cas[i].handle == NULL) {
			*bad = i;
			free(b.v);
			return cm_err_set(err, CM_EINVAL, "(null)", "no handle");
		}
		b.v[i].handle = cas[i].handle;
		b.v[i].idx = i;
	}
	qsort(b.v, n, sizeof(*b.v), cmp_name);
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = check_entry(&b, i, err)) == -1)
			*bad = i;
	free(b.v);
	return rc;
}

/* ---- keys, made in parallel ----------------------------------------- */

/*
 * Each new CA needs two keys: its own, in the signer, and the one-time EE
 * key of its first manifest.  Both are made here, before the transaction,
 * so that the transaction (which holds the parents' rows locked) never
 * waits for key generation.
 */
struct keygen {
	struct ca_eng			*e;
	const struct ca_eng_new_ca	*cas;
	struct hsm_key			**keys;
	EVP_PKEY			**ee;
	size_t				 n, next, done, bad;
	int				 failed;
	struct cm_err			 err;
	ca_eng_progress_fn		 progress;
	void				*arg;
	pthread_mutex_t			 mtx;
};

static void *
keygen_worker(void *p)
{
	struct keygen	*k = p;
	struct hsm_key	*key = NULL;
	EVP_PKEY	*ee = NULL;
	BN_CTX		*bc = BN_CTX_new();
	struct cm_err	 err;
	char		 label[HSM_LABEL_MAX];
	size_t		 i;
	int		 rc;

	for (;;) {
		pthread_mutex_lock(&k->mtx);
		i = k->failed ? k->n : k->next++;
		pthread_mutex_unlock(&k->mtx);
		if (i >= k->n)
			break;
		snprintf(label, sizeof(label), "cairn ca %s", k->cas[i].handle);
		rc = hsm_key_create(k->e->hsm, label, &key, &err);
		if (rc == 0 && (ee = hsm_pool_keygen(bc, &err)) == NULL) {
			eng_key_discard(key, k->cas[i].handle);
			rc = -1;
		}
		pthread_mutex_lock(&k->mtx);
		if (rc == -1 && !k->failed) {
			k->failed = 1;
			k->bad = i;
			k->err = err;
		} else if (rc == 0) {
			k->keys[i] = key;
			k->ee[i] = ee;
			k->done++;
			/* One call at a time: the callback need not lock. */
			if (k->progress != NULL)
				k->progress(k->arg, "keys", k->done, k->n);
		}
		pthread_mutex_unlock(&k->mtx);
	}
	BN_CTX_free(bc);
	return NULL;
}

/* Makes keys[0..n-1]; on failure the ones made are deleted again. */
static int
make_keys(struct keygen *k, unsigned threads, struct cm_err *err)
{
	pthread_t	tid[BULK_THREADS_MAX];
	unsigned	i, started = 0;

	if (threads == 0)
		threads = 2;
	if (threads > BULK_THREADS_MAX)
		threads = BULK_THREADS_MAX;
	if ((size_t)threads > k->n)
		threads = (unsigned)k->n;
	pthread_mutex_init(&k->mtx, NULL);
	/* The caller's thread is one of the workers. */
	for (i = 1; i < threads; i++)
		if (pthread_create(&tid[started], NULL, keygen_worker, k) == 0)
			started++;
	keygen_worker(k);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&k->mtx);
	if (!k->failed)
		return 0;
	*err = k->err;
	for (i = 0; i < k->n; i++)
		eng_key_discard(k->keys[i], k->cas[i].handle);
	memset(k->keys, 0, k->n * sizeof(*k->keys));
	return -1;	/* the EE keys are the caller's to free */
}

/* ---- the transaction -------------------------------------------------- */

struct bulk {
	struct ca_eng			*e;
	const struct ca_eng_new_ca	*cas;
	struct hsm_key			**keys;
	size_t				 n, bad;
	const char			*actor;
	ca_eng_progress_fn		 progress;
	void				*arg;
	/* Parents loaded (and locked) in this transaction. */
	struct eng_ca			*ps;
	size_t				 nps, cap;
};

static void
parents_clear(struct bulk *b)
{
	size_t i;

	for (i = 0; i < b->nps; i++)
		eng_ctx_clear(&b->ps[i]);
	free(b->ps);
	b->ps = NULL;
	b->nps = b->cap = 0;
}

static struct eng_ca *
parent_find(struct bulk *b, const char *h)
{
	size_t i;

	/* Few distinct parents in practice (an RIR, a few NIRs). */
	for (i = b->nps; i > 0; i--)
		if (strcmp(b->ps[i - 1].handle, h) == 0)
			return &b->ps[i - 1];
	return NULL;
}

/* The parent h of child, loaded and locked on first use. */
static struct eng_ca *
parent_get(struct bulk *b, struct db *db, const char *h, const char *child,
    struct cm_err *err)
{
	struct eng_ca	*p, *ps;
	size_t		 cap;

	if ((p = parent_find(b, h)) != NULL)
		return p;
	if (b->nps == b->cap) {
		cap = b->cap == 0 ? 8 : 2 * b->cap;
		if ((ps = realloc(b->ps, cap * sizeof(*ps))) == NULL) {
			cm_err_set(err, CM_ENOMEM, h, "out of memory");
			return NULL;
		}
		b->ps = ps;
		b->cap = cap;
	}
	if (eng_load_ca(b->e, db, h, &b->ps[b->nps], err) == -1) {
		if (err->code == CM_ENOTFOUND)
			cm_err_set(err, CM_ENOTFOUND, child, "no such parent CA "
			    "%s", h);
		return NULL;
	}
	return &b->ps[b->nps++];
}

/* Entry i: its row, its key's certificate from its parent, the audit. */
static int
create_one(struct bulk *b, struct db *db, size_t i, struct cm_err *err)
{
	const struct ca_eng_new_ca	*c = &b->cas[i];
	struct hsm_key			*k = b->keys[i];
	struct eng_ca			*p;
	uint8_t				*der = NULL;
	size_t				 len;
	int64_t				 id;
	char				 repo[ENG_URI_MAX], uri[ENG_URI_MAX];
	int				 rc = -1;

	snprintf(repo, sizeof(repo), "%s%s/", b->e->conf.rsync_base, c->handle);
	if ((p = parent_get(b, db, c->parent, c->handle, err)) == NULL ||
	    eng_within_parent(p, c->handle, c->res, err) == -1 ||
	    eng_insert_ca(db, c->handle, "hosted", p->id, repo, c->res, &id,
	    err) == -1 ||
	    eng_issue_child_cert(b->e, db, p, c->handle, repo, hsm_key_pubkey(k),
	    hsm_key_id(k), c->res, &der, &len, uri, err) == -1 ||
	    eng_insert_key(db, hsm_key_id(k), id, der, len, uri, err) == -1 ||
	    eng_audit(db, b->actor, "ca.create", id, c->handle, err) == -1)
		goto out;
	rc = 0;
out:
	free(der);
	return rc;
}

static int
bulk_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct bulk	*b = arg;
	struct eng_ca	 c;
	size_t		 i;
	int		 rc = -1;

	/* db_tx() may run this again after a serialization failure. */
	parents_clear(b);
	for (i = 0; i < b->n; i++) {
		b->bad = i;
		if (create_one(b, db, i, err) == -1)
			goto out;
		if (b->progress != NULL)
			b->progress(b->arg, "certificates", i + 1, b->n);
	}
	/*
	 * Every new CA's first CRL and manifest; a new CA that is also a
	 * parent here is published with the parents below.
	 */
	for (i = 0; i < b->n; i++) {
		b->bad = i;
		if (parent_find(b, b->cas[i].handle) != NULL)
			continue;
		if (eng_load_ca(b->e, db, b->cas[i].handle, &c, err) == -1)
			goto out;
		rc = eng_publish_pp(b->e, db, &c, err);
		eng_ctx_clear(&c);
		if (rc == -1)
			goto out;
		rc = -1;
		if (b->progress != NULL)
			b->progress(b->arg, "publication points", i + 1, b->n);
	}
	/* Each parent's CRL and manifest once, listing all its new children. */
	b->bad = b->n;
	for (i = 0; i < b->nps; i++)
		if (eng_publish_pp(b->e, db, &b->ps[i], err) == -1)
			goto out;
	rc = 0;
out:
	parents_clear(b);
	return rc;
}

int
ca_eng_ca_create_many(struct ca_eng *e, const struct ca_eng_new_ca *cas,
    size_t n, unsigned threads, const char *actor, ca_eng_progress_fn progress,
    void *arg, size_t *bad, struct cm_err *err)
{
	struct keygen	 k;
	struct bulk	 b;
	size_t		 i, dummy;
	int		 rc = -1;

	if (bad == NULL)
		bad = &dummy;
	*bad = n;
	if (n == 0)
		return 0;
	if (n > INT_MAX)
		return cm_err_set(err, CM_ELIMIT, "bulk creation", "too many CAs");
	if (check_all(cas, n, bad, err) == -1)
		return -1;
	memset(&k, 0, sizeof(k));
	k.e = e;
	k.cas = cas;
	k.n = n;
	k.progress = progress;
	k.arg = arg;
	if ((k.keys = calloc(n, sizeof(*k.keys))) == NULL ||
	    (k.ee = calloc(n, sizeof(*k.ee))) == NULL) {
		free(k.keys);
		return cm_err_set(err, CM_ENOMEM, "bulk creation", "out of memory");
	}
	if (make_keys(&k, threads, err) == -1) {
		*bad = k.bad;
		goto out;
	}
	memset(&b, 0, sizeof(b));
	b.e = e;
	b.cas = cas;
	b.keys = k.keys;
	b.n = n;
	b.actor = actor;
	b.progress = progress;
	b.arg = arg;
	/* The new CAs' manifests take their EE keys from here. */
	e->ee_stash = k.ee;
	e->ee_nstash = n;
	rc = db_tx(e->db, NULL, bulk_tx, &b, err);
	e->ee_stash = NULL;
	e->ee_nstash = 0;
	if (rc == -1) {
		*bad = b.bad;
		for (i = 0; i < n; i++)
			eng_key_discard(k.keys[i], cas[i].handle);
		memset(k.keys, 0, n * sizeof(*k.keys));
		goto out;
	}
	rc = (int)n;
out:
	/* Keys handed out were set to NULL; the rest were never used. */
	for (i = 0; i < n; i++) {
		hsm_key_free(k.keys[i]);
		EVP_PKEY_free(k.ee[i]);
	}
	free(k.keys);
	free(k.ee);
	return rc;
}
