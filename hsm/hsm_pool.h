/*
 * hsm_pool: the one-time EE key pool.  Every signed object needs a fresh
 * RSA-2048 key (RFC 6487, RFC 9286), and generating it costs ~100x the
 * rest of issuing the object, so background threads keep a bounded number
 * of keys ready.  Keys live in memory only and are handed out once.
 */
#ifndef HSM_POOL_H
#define HSM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "common/cm_err.h"

struct hsm_pool;

/* Figures for metrics; a snapshot. */
struct hsm_pool_stats {
	size_t		level;		/* keys ready now */
	size_t		capacity;	/* the pool's size */
	unsigned	threads;	/* worker threads */
	uint64_t	generated;	/* keys made since start */
	uint64_t	taken;		/* keys handed out */
	uint64_t	waits;		/* hsm_pool_get() calls that found it empty */
	uint64_t	timeouts;	/* ... and gave up */
	uint64_t	failures;	/* failed generations (logged) */
};

/*
 * Creates a pool of up to size keys (size >= 1) filled by threads worker
 * threads (0 is allowed: then only hsm_pool_put() fills it).  Returns the
 * pool (free with hsm_pool_free()), or NULL with err set.
 */
struct hsm_pool	*hsm_pool_new(size_t size, unsigned threads, struct cm_err *err);

/*
 * Takes a key out of the pool, waiting up to timeout_ms milliseconds when it
 * is empty.  On success *out is a new RSA-2048 e=65537 private key that the
 * caller owns (EVP_PKEY_free()) and that nobody else gets.  Returns 0, or -1
 * with err: CM_ERETRY when the wait timed out, CM_ESTATE when the pool is
 * being shut down.  Thread-safe.
 */
int		 hsm_pool_get(struct hsm_pool *p, unsigned timeout_ms,
		    EVP_PKEY **out, struct cm_err *err);

/*
 * Adds a key the caller made (ownership passes to the pool).  Returns 0,
 * or -1 with err (CM_ELIMIT if full, CM_ESTATE after shutdown); then the
 * caller still owns key.
 */
int		 hsm_pool_put(struct hsm_pool *p, EVP_PKEY *key, struct cm_err *err);

void		 hsm_pool_stats(struct hsm_pool *p, struct hsm_pool_stats *out);

/*
 * Stops the pool: waiters in hsm_pool_get() return CM_ESTATE, workers
 * finish the key they are making and are joined.  Idempotent.  Callers
 * must have left hsm_pool_get() before hsm_pool_free().  Not to be called
 * from two threads at once.
 */
void		 hsm_pool_shutdown(struct hsm_pool *p);

/* Shuts down (if not yet) and frees the pool and its keys.  NULL is ok. */
void		 hsm_pool_free(struct hsm_pool *p);

/*
 * Generates one RSA-2048 e=65537 key from two 1024-bit primes (faster than
 * EVP_PKEY_keygen) and checks it (public check and pairwise check).  bc is
 * scratch space (may be NULL).  Returns the key (caller frees) or NULL with
 * err set.  Thread-safe with one bc per thread.
 */
EVP_PKEY	*hsm_pool_keygen(BN_CTX *bc, struct cm_err *err);

#endif
