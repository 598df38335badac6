/*
 * Unit tests for the separate signer process: the in-memory backend and
 * SoftHSM2 (token made in a temporary directory) behind a socketpair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/cm_file.h"
#include "hsm/hsm.h"
#include "hsm_testutil.h"

#define PIN	"sep-pin-99"

static char	tmpdir[] = "/tmp/cairn-hsm-sep-XXXXXX";

static int
setup(void **state)
{
	setenv("CAIRN_TEST_SEP_PIN", PIN, 1);
	return hsmtest_token(tmpdir, "sep", PIN, "11223344");
}

static int
teardown(void **state)
{
	hsmtest_cleanup(tmpdir);
	return 0;
}

static struct hsm *
open_mem(void *arg, struct cm_err *err)
{
	return hsm_open_mem();
}

static struct hsm *
open_fails(void *arg, struct cm_err *err)
{
	cm_err_set(err, CM_EPERM, "token x", "user login failed: wrong PIN");
	return NULL;
}

static struct hsm *
open_p11(void *arg, struct cm_err *err)
{
	struct hsm_p11_conf	c = { .module = SOFTHSM, .token_label = "sep",
	    .pin_env = "CAIRN_TEST_SEP_PIN" };

	return hsm_open_pkcs11(&c, err);
}

/* Opens the mem backend and leaves the child's pid in the file arg. */
static struct hsm *
open_mem_pid(void *arg, struct cm_err *err)
{
	char	pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (cm_file_write_atomic(arg, pid, strlen(pid), 0600, err) == -1)
		return NULL;
	return hsm_open_mem();
}

static void
sign_verify(struct hsm_key *k)
{
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(hsm_key_pubkey(k), NULL);

	RAND_bytes(md, sizeof(md));
	if (hsm_key_sign(k, md, sig, &len, &err) != 0)
		fail_msg("sign: %s", err.msg);
	assert_int_equal(len, 256);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(c, sig, len, md, 32), 1);
	EVP_PKEY_CTX_free(c);
}

/* Create, sign, find again, destroy: the whole interface over the channel. */
static void
exercise(struct hsm *h)
{
	struct hsm_key	*k, *k2;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1];

	assert_string_equal(hsm_name(h), "separate");
	if (hsm_key_create(h, "separated", &k, &err) != 0)
		fail_msg("create: %s", err.msg);
	memcpy(id, hsm_key_id(k), sizeof(id));
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_pubkey(k)), 2048);
	sign_verify(k);
	assert_int_equal(hsm_key_find(h, id, &k2, &err), 0);
	assert_int_equal(EVP_PKEY_eq(hsm_key_pubkey(k), hsm_key_pubkey(k2)), 1);
	sign_verify(k2);
	hsm_key_free(k2);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	/* The child's error comes back with its code and message. */
	assert_int_equal(hsm_key_find(h, id, &k2, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_non_null(strstr(err.msg, id));
}

struct worker {
	struct hsm_key	*key;
	int		 ok;
};

static void *
sign_many(void *arg)
{
	struct worker	*w = arg;
	uint8_t		 md[32] = { 7 }, sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(hsm_key_pubkey(w->key), NULL);

	if (c == NULL || EVP_PKEY_verify_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1)
		goto out;
	for (int i = 0; i < 30; i++) {
		md[1] = (uint8_t)i;
		if (hsm_key_sign(w->key, md, sig, &len, &err) == 0 &&
		    EVP_PKEY_verify(c, sig, len, md, 32) == 1)
			w->ok++;
	}
out:
	EVP_PKEY_CTX_free(c);
	return NULL;
}

static void
test_mem_child(void **state)
{
	struct hsm	*h;
	struct hsm_key	*k;
	struct cm_err	 err;
	struct worker	 w[4];
	pthread_t	 t[4];

	h = hsm_open_separate(open_mem, NULL, 2, &err);
	if (h == NULL)
		fail_msg("open: %s", err.msg);
	exercise(h);
	/* Four threads, two channels. */
	assert_int_equal(hsm_key_create(h, "mt", &k, &err), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .key = k };
		assert_int_equal(pthread_create(&t[i], NULL, sign_many, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 30);
	}
	hsm_key_free(k);
	hsm_close(h);
}

static void
test_child_open_fails(void **state)
{
	struct cm_err	err;

	assert_null(hsm_open_separate(open_fails, NULL, 1, &err));
	assert_int_equal(err.code, CM_EPERM);
	assert_non_null(strstr(err.msg, "signer process: token x: user login "
	    "failed: wrong PIN"));
	assert_null(hsm_open_separate(open_mem, NULL, 1000, &err));
	assert_int_equal(err.code, CM_EINVAL);
}

/* A signer process that dies makes every call fail, clearly. */
static void
test_child_dies(void **state)
{
	char		 path[512];
	uint8_t		*text, md[32] = { 0 }, sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;
	struct hsm	*h;
	struct hsm_key	*k;
	pid_t		 pid;

	snprintf(path, sizeof(path), "%s/child.pid", tmpdir);
	h = hsm_open_separate(open_mem_pid, path, 2, &err);
	assert_non_null(h);
	assert_int_equal(hsm_key_create(h, "doomed", &k, &err), 0);
	assert_int_equal(cm_file_read(path, 64, &text, &len, &err), 0);
	pid = (pid_t)atol((char *)text);
	free(text);
	assert_true(pid > 0 && pid != getpid());
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), -1);
		assert_int_equal(err.code, CM_EIO);
		assert_non_null(strstr(err.msg, "signer process: "));
	}
	hsm_key_free(k);
	hsm_close(h);
}

static void
test_p11_child(void **state)
{
	struct cm_err	 err;
	struct hsm	*h = hsm_open_separate(open_p11, NULL, 0, &err);

	if (h == NULL)
		fail_msg("open: %s", err.msg);
	exercise(h);
	/* The PKCS#11 module was loaded by the child only. */
	assert_null(dlopen(SOFTHSM, RTLD_NOW | RTLD_NOLOAD));
	hsm_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_child),
		cmocka_unit_test(test_child_open_fails),
		cmocka_unit_test(test_child_dies),
		cmocka_unit_test(test_p11_child),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
