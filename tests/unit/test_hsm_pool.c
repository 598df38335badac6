/* Unit tests for the one-time EE key pool and its key generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "hsm/hsm.h"
#include "hsm/hsm_pool.h"

/* A full private-key check, the profile, and a signature through hsm_key_wrap(). */
static void
assert_good_key(EVP_PKEY *k)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	BIGNUM		*e = NULL;
	struct hsm_key	*hk;
	struct cm_err	 err;
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	assert_int_equal(EVP_PKEY_get_bn_param(k, "e", &e), 1);
	assert_true(BN_is_word(e, 65537));
	BN_free(e);
	assert_int_equal(EVP_PKEY_check(c), 1);
	EVP_PKEY_CTX_free(c);

	hk = hsm_key_wrap(k);
	assert_non_null(hk);
	RAND_bytes(md, sizeof(md));
	assert_int_equal(hsm_key_sign(hk, md, sig, &len, &err), 0);
	c = EVP_PKEY_CTX_new(k, NULL);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(c, sig, len, md, 32), 1);
	EVP_PKEY_CTX_free(c);
	hsm_key_free(hk);
}

static void
test_keygen(void **state)
{
	struct cm_err	 err;
	EVP_PKEY	*a = hsm_pool_keygen(NULL, &err);
	BN_CTX		*bc = BN_CTX_new();
	EVP_PKEY	*b = hsm_pool_keygen(bc, &err);

	assert_non_null(a);
	assert_non_null(b);
	assert_good_key(a);
	assert_good_key(b);
	assert_int_not_equal(EVP_PKEY_eq(a, b), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	BN_CTX_free(bc);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
test_fill_and_refill(void **state)
{
	struct hsm_pool		*p;
	struct hsm_pool_stats	 s;
	struct cm_err		 err;
	EVP_PKEY		*k[6];
	int			 i, j;

	p = hsm_pool_new(3, 2, &err);
	assert_non_null(p);
	/* It fills up to its size, and no further. */
	for (i = 0; i < 600; i++) {
		hsm_pool_stats(p, &s);
		if (s.level == 3)
			break;
		sleep_ms(100);
	}
	assert_int_equal(s.level, 3);
	assert_int_equal(s.capacity, 3);
	assert_int_equal(s.threads, 2);
	sleep_ms(300);
	hsm_pool_stats(p, &s);
	assert_int_equal(s.level, 3);
	assert_int_equal(s.generated, 3);
	assert_int_equal(s.waits, 0);

	/* Twice its size: the second half was made after the first went. */
	for (i = 0; i < 6; i++)
		if (hsm_pool_get(p, 60000, &k[i], &err) != 0)
			fail_msg("get %d: %s", i, err.msg);
	hsm_pool_stats(p, &s);
	assert_int_equal(s.taken, 6);
	assert_true(s.generated >= 6);
	assert_true(s.level <= 3);
	for (i = 0; i < 6; i++) {
		assert_good_key(k[i]);
		for (j = 0; j < i; j++)
			assert_int_not_equal(EVP_PKEY_eq(k[i], k[j]), 1);
	}
	for (i = 0; i < 6; i++)
		EVP_PKEY_free(k[i]);
	hsm_pool_free(p);
}

static void
test_timeout_and_put(void **state)
{
	struct hsm_pool		*p = NULL;
	struct hsm_pool_stats	 s;
	struct cm_err		 err;
	EVP_PKEY		*k = NULL, *mine;

	assert_null(hsm_pool_new(0, 1, &err));
	assert_int_equal(err.code, CM_EINVAL);

	p = hsm_pool_new(1, 0, &err);
	assert_non_null(p);
	assert_int_equal(hsm_pool_get(p, 50, &k, &err), -1);
	assert_int_equal(err.code, CM_ERETRY);
	assert_non_null(strstr(err.msg, "no key ready after 50 ms"));
	assert_null(k);
	hsm_pool_stats(p, &s);
	assert_int_equal(s.waits, 1);
	assert_int_equal(s.timeouts, 1);

	mine = hsm_pool_keygen(NULL, &err);
	assert_non_null(mine);
	assert_int_equal(hsm_pool_put(p, mine, &err), 0);
	assert_int_equal(hsm_pool_put(p, mine, &err), -1);
	assert_int_equal(err.code, CM_ELIMIT);
	assert_int_equal(hsm_pool_get(p, 0, &k, &err), 0);
	assert_ptr_equal(k, mine);
	assert_int_equal(hsm_pool_get(p, 0, &k, &err), -1);
	assert_int_equal(err.code, CM_ERETRY);
	hsm_pool_stats(p, &s);
	assert_int_equal(s.taken, 1);
	assert_int_equal(s.timeouts, 2);
	EVP_PKEY_free(mine);
	hsm_pool_free(p);
}

struct waiter {
	struct hsm_pool	*pool;
	int		 rc;
	struct cm_err	 err;
};

static void *
wait_key(void *arg)
{
	struct waiter	*w = arg;
	EVP_PKEY	*k = NULL;

	w->rc = hsm_pool_get(w->pool, 60000, &k, &w->err);
	EVP_PKEY_free(k);
	return NULL;
}

static void
test_shutdown_with_waiters(void **state)
{
	struct hsm_pool		*p;
	struct hsm_pool_stats	 s;
	struct cm_err		 err;
	struct waiter		 w[3];
	pthread_t		 t[3];
	EVP_PKEY		*k;
	int			 i;

	p = hsm_pool_new(2, 0, &err);
	assert_non_null(p);
	for (i = 0; i < 3; i++) {
		w[i] = (struct waiter){ .pool = p, .rc = 0 };
		assert_int_equal(pthread_create(&t[i], NULL, wait_key, &w[i]), 0);
	}
	do {
		sleep_ms(10);
		hsm_pool_stats(p, &s);
	} while (s.waits < 3);
	/* Shutdown wakes them all (long before their 60 s timeout). */
	hsm_pool_shutdown(p);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, -1);
		assert_int_equal(w[i].err.code, CM_ESTATE);
	}
	assert_int_equal(hsm_pool_get(p, 0, &k, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	hsm_pool_shutdown(p);
	hsm_pool_free(p);

	/* Workers busy generating or waiting for room are joined too. */
	p = hsm_pool_new(1, 3, &err);
	assert_non_null(p);
	sleep_ms(50);
	hsm_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_fill_and_refill),
		cmocka_unit_test(test_timeout_and_put),
		cmocka_unit_test(test_shutdown_with_waiters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
