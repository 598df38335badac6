/*
 * The one-time EE key pool: a ring of ready RSA-2048 keys, filled by worker
 * threads, emptied by hsm_pool_get().  Keys are never written anywhere.
 *
 * Keys are built from two random 1024-bit primes (BN_generate_prime_ex2)
 * rather than with EVP_PKEY_keygen: OpenSSL's default generator follows
 * SP 800-56B with extra prime conditions and measured 1.5-2.5x slower here
 * (tests/bench/bench_signer.c).  Each key is checked before it enters the
 * pool, so a faulty key can never sign an object.
 */
#include "hsm/hsm_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "common/cm_log.h"

struct hsm_pool {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 not_empty;	/* a key was added, or stop */
	pthread_cond_t	 not_full;	/* a key was taken, or stop */
	EVP_PKEY	**ring;
	size_t		 size, head, level;
	pthread_t	*tids;
	unsigned	 nthreads;	/* running workers */
	int		 stop;
	int		 joined;
	struct hsm_pool_stats st;
};

/*
 * A random 1024-bit prime p (top two bits set, so that n has 2048 bits)
 * with gcd(e, p - 1) = 1, as d must exist.
 */
static int
gen_prime(BIGNUM *p, const BIGNUM *e, BIGNUM *tmp, BN_CTX *bc)
{
	for (int i = 0; i < 64; i++) {
		if (!BN_generate_prime_ex2(p, 1024, 0, NULL, NULL, NULL, bc) ||
		    !BN_sub(tmp, p, BN_value_one()) || !BN_gcd(tmp, tmp, e, bc))
			return 0;
		if (BN_is_one(tmp))
			return 1;
	}
	return 0;
}

/* The private key as OpenSSL parameters, then the EVP_PKEY. */
static EVP_PKEY *
build_key(BIGNUM *const v[8])
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	OSSL_PARAM_BLD	*b = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*par = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*k = NULL;
	int		 i;

	for (i = 0; b != NULL && i < 8; i++)
		if (!OSSL_PARAM_BLD_push_BN(b, names[i], v[i]))
			break;
	if (i == 8 && (par = OSSL_PARAM_BLD_to_param(b)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, par) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(par);
	OSSL_PARAM_BLD_free(b);
	return k;
}

/* The public and the pairwise (n = pq, de = 1, CRT values) checks. */
static int
check_key(EVP_PKEY *k)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	int		 ok;

	ok = c != NULL && EVP_PKEY_get_bits(k) == 2048 &&
	    EVP_PKEY_public_check(c) == 1 && EVP_PKEY_pairwise_check(c) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

/*
 * n = pq, d = e^-1 mod lcm(p - 1, q - 1), and the CRT values, into
 * v[] = { n, e, d, p, q, dmp1, dmq1, iqmp }.  |p - q| and d must be large
 * (FIPS 186-4 B.3.1).
 */
static int
derive(BIGNUM *v[8], BIGNUM *p1, BIGNUM *q1, BIGNUM *l, BIGNUM *g, BN_CTX *bc)
{
	BIGNUM	*n = v[0], *e = v[1], *d = v[2], *p = v[3], *q = v[4];

	if (!BN_sub(g, p, q))
		return 0;
	BN_set_negative(g, 0);
	if (BN_num_bits(g) <= 1024 - 100)
		return 0;
	if (!BN_mul(n, p, q, bc) || BN_num_bits(n) != 2048 ||
	    !BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
	    !BN_mul(l, p1, q1, bc) || !BN_gcd(g, p1, q1, bc) ||
	    !BN_div(l, NULL, l, g, bc) ||
	    BN_mod_inverse(d, e, l, bc) == NULL || BN_num_bits(d) <= 1024 ||
	    !BN_mod(v[5], d, p1, bc) || !BN_mod(v[6], d, q1, bc) ||
	    BN_mod_inverse(v[7], q, p, bc) == NULL)
		return 0;
	return 1;
}

EVP_PKEY *
hsm_pool_keygen(BN_CTX *bc, struct cm_err *err)
{
	BN_CTX		*own = NULL;
	BIGNUM		*v[8] = { 0 }, *t[4] = { 0 };
	EVP_PKEY	*k = NULL;
	int		 i, ok = 0;

	if (bc == NULL && (bc = own = BN_CTX_secure_new()) == NULL)
		goto out;
	for (i = 0; i < 8; i++)
		if ((v[i] = BN_secure_new()) == NULL)
			goto out;
	for (i = 0; i < 4; i++)
		if ((t[i] = BN_secure_new()) == NULL)
			goto out;
	/* Secret values take the constant-time code paths. */
	for (i = 2; i < 8; i++)
		BN_set_flags(v[i], BN_FLG_CONSTTIME);
	for (i = 0; i < 4; i++)
		BN_set_flags(t[i], BN_FLG_CONSTTIME);
	if (!BN_set_word(v[1], RSA_F4))
		goto out;
	for (i = 0; i < 8 && !ok; i++)
		ok = gen_prime(v[3], v[1], t[0], bc) &&
		    gen_prime(v[4], v[1], t[0], bc) &&
		    derive(v, t[0], t[1], t[2], t[3], bc);
	if (ok && (k = build_key(v)) != NULL && !check_key(k)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	for (i = 0; i < 8; i++)
		BN_clear_free(v[i]);
	for (i = 0; i < 4; i++)
		BN_clear_free(t[i]);
	BN_CTX_free(own);
	if (k == NULL)
		cm_err_ssl(err, "EE key pool", "RSA-2048 key generation from "
		    "two primes failed");
	return k;
}

static void *
worker(void *arg)
{
	struct hsm_pool	*p = arg;
	BN_CTX		*bc = BN_CTX_secure_new();
	struct cm_err	 err;
	struct timespec	 ts;
	EVP_PKEY	*k;

	pthread_mutex_lock(&p->mtx);
	while (!p->stop) {
		if (p->level >= p->size) {
			pthread_cond_wait(&p->not_full, &p->mtx);
			continue;
		}
		pthread_mutex_unlock(&p->mtx);
		k = hsm_pool_keygen(bc, &err);
		pthread_mutex_lock(&p->mtx);
		if (k == NULL) {
			p->st.failures++;
			pthread_mutex_unlock(&p->mtx);
			cm_error("%s", err.msg);
			/* Do not spin on a persistent failure. */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec++;
			pthread_mutex_lock(&p->mtx);
			if (!p->stop)
				pthread_cond_timedwait(&p->not_full, &p->mtx, &ts);
			continue;
		}
		if (p->stop || p->level >= p->size) {
			EVP_PKEY_free(k);
			continue;
		}
		p->ring[(p->head + p->level++) % p->size] = k;
		p->st.generated++;
		pthread_cond_signal(&p->not_empty);
	}
	pthread_mutex_unlock(&p->mtx);
	BN_CTX_free(bc);
	return NULL;
}

struct hsm_pool *
hsm_pool_new(size_t size, unsigned threads, struct cm_err *err)
{
	struct hsm_pool		*p;
	pthread_condattr_t	 ca;
	int			 rc;

	if (size == 0 || size > 1000000 || threads > 256) {
		cm_err_set(err, CM_EINVAL, "EE key pool", "size must be 1 to "
		    "1000000 and threads 0 to 256 (got %zu and %u)", size,
		    threads);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->ring = calloc(size, sizeof(*p->ring))) == NULL ||
	    (p->tids = calloc(threads + 1, sizeof(*p->tids))) == NULL) {
		if (p != NULL)
			free(p->ring);
		free(p);
		cm_err_set(err, CM_ENOMEM, "EE key pool", "out of memory");
		return NULL;
	}
	p->size = size;
	pthread_mutex_init(&p->mtx, NULL);
	/* Timeouts count on the monotonic clock, not the wall clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->not_empty, &ca);
	pthread_cond_init(&p->not_full, &ca);
	pthread_condattr_destroy(&ca);
	for (; p->nthreads < threads; p->nthreads++)
		if ((rc = pthread_create(&p->tids[p->nthreads], NULL, worker,
		    p)) != 0) {
			cm_err_set(err, CM_ENOMEM, "EE key pool", "cannot start "
			    "worker thread: %s", strerror(rc));
			hsm_pool_free(p);
			return NULL;
		}
	cm_info("EE key pool: up to %zu keys, %u worker threads", size, threads);
	return p;
}

int
hsm_pool_get(struct hsm_pool *p, unsigned timeout_ms, EVP_PKEY **out,
    struct cm_err *err)
{
	struct timespec	ts;
	int		rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->mtx);
	if (p->level == 0 && !p->stop)
		p->st.waits++;
	while (p->level == 0 && !p->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&p->not_empty, &p->mtx, &ts);
	if (p->stop)
		rc = cm_err_set(err, CM_ESTATE, "EE key pool", "shut down");
	else if (p->level == 0) {
		p->st.timeouts++;
		rc = cm_err_set(err, CM_ERETRY, "EE key pool", "no key ready "
		    "after %u ms (%u worker threads)", timeout_ms, p->nthreads);
	} else {
		*out = p->ring[p->head];
		p->ring[p->head] = NULL;
		p->head = (p->head + 1) % p->size;
		p->level--;
		p->st.taken++;
		pthread_cond_signal(&p->not_full);
		rc = 0;
	}
	pthread_mutex_unlock(&p->mtx);
	return rc;
}

int
hsm_pool_put(struct hsm_pool *p, EVP_PKEY *key, struct cm_err *err)
{
	int	rc = 0;

	pthread_mutex_lock(&p->mtx);
	if (p->stop)
		rc = cm_err_set(err, CM_ESTATE, "EE key pool", "shut down");
	else if (p->level >= p->size)
		rc = cm_err_set(err, CM_ELIMIT, "EE key pool", "full (%zu keys)",
		    p->size);
	else {
		p->ring[(p->head + p->level++) % p->size] = key;
		pthread_cond_signal(&p->not_empty);
	}
	pthread_mutex_unlock(&p->mtx);
	return rc;
}

void
hsm_pool_stats(struct hsm_pool *p, struct hsm_pool_stats *out)
{
	pthread_mutex_lock(&p->mtx);
	*out = p->st;
	out->level = p->level;
	out->capacity = p->size;
	out->threads = p->nthreads;
	pthread_mutex_unlock(&p->mtx);
}

void
hsm_pool_shutdown(struct hsm_pool *p)
{
	pthread_mutex_lock(&p->mtx);
	p->stop = 1;
	pthread_cond_broadcast(&p->not_empty);
	pthread_cond_broadcast(&p->not_full);
	pthread_mutex_unlock(&p->mtx);
	if (p->joined)
		return;
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->tids[i], NULL);
	p->joined = 1;
}

void
hsm_pool_free(struct hsm_pool *p)
{
	if (p == NULL)
		return;
	hsm_pool_shutdown(p);
	for (; p->level > 0; p->level--) {
		EVP_PKEY_free(p->ring[p->head]);
		p->head = (p->head + 1) % p->size;
	}
	pthread_cond_destroy(&p->not_empty);
	pthread_cond_destroy(&p->not_full);
	pthread_mutex_destroy(&p->mtx);
	free(p->ring);
	free(p->tids);
	free(p);
}
