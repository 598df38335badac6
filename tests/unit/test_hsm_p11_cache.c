/*
 * Unit tests for the PKCS#11 backend's cache of key object handles, against
 * SoftHSM2: hits and misses, eviction in a small cache, invalidation when a
 * key is destroyed through the backend, and a clean failure (after a search)
 * when another session or another process destroyed the key behind the
 * cache's back.
 *
 * Run as "test_hsm_p11_cache --destroy ID" it is that other process: it opens
 * the token of SOFTHSM2_CONF and destroys key ID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "common/cm_enc.h"
#include "hsm/hsm.h"
#include "hsm_testutil.h"

#define LABEL		"cairn-cache"
#define PIN		"cache-pin-31"
#define PIN_ENV		"CAIRN_TEST_CACHE_PIN"

static char	tmpdir[] = "/tmp/cairn-hsm-cache-XXXXXX";

static int
group_setup(void **state)
{
	setenv(PIN_ENV, PIN, 1);
	return hsmtest_token(tmpdir, LABEL, PIN, "55667788");
}

static int
group_teardown(void **state)
{
	hsmtest_cleanup(tmpdir);
	return 0;
}

static struct hsm *
open_token(int key_cache)
{
	struct hsm_p11_conf	c = {
		.module = SOFTHSM, .token_label = LABEL, .pin_env = PIN_ENV,
		.key_cache = key_cache,
	};
	struct cm_err		err;
	struct hsm		*h;

	if ((h = hsm_open_pkcs11(&c, &err)) == NULL)
		fail_msg("open: %s", err.msg);
	return h;
}

static struct hsm_p11_cache_stats
stats(struct hsm *h)
{
	struct hsm_p11_cache_stats	s;

	assert_int_equal(hsm_p11_cache_stats(h, &s), 0);
	return s;
}

/* Creates a key and returns its id in id (the handle is freed). */
static void
new_key(struct hsm *h, const char *label, char id[HSM_KEY_ID_LEN + 1])
{
	struct hsm_key	*k;
	struct cm_err	 err;

	if (hsm_key_create(h, label, &k, &err) != 0)
		fail_msg("create: %s", err.msg);
	memcpy(id, hsm_key_id(k), HSM_KEY_ID_LEN + 1);
	hsm_key_free(k);
}

/* Finds id, checks that it is that key and that it signs. */
static void
find_sign(struct hsm *h, const char *id)
{
	struct hsm_key	*k;
	struct cm_err	 err;
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;

	if (hsm_key_find(h, id, &k, &err) != 0)
		fail_msg("find %s: %s", id, err.msg);
	assert_string_equal(hsm_key_id(k), id);
	assert_int_equal(RAND_bytes(md, sizeof(md)), 1);
	if (hsm_key_sign(k, md, sig, &len, &err) != 0)
		fail_msg("sign: %s", err.msg);
	assert_int_equal(len, 256);
	hsm_key_free(k);
}

static void
test_hits(void **state)
{
	struct hsm			*h = open_token(0);
	struct hsm_p11_cache_stats	 s;
	struct hsm_key			*k;
	struct cm_err			 err;
	char				 id[HSM_KEY_ID_LEN + 1];

	s = stats(h);
	assert_int_equal(s.capacity, 4096);
	assert_int_equal(s.used, 0);
	/* A new key is cached at once: its first find is a hit. */
	new_key(h, "hit", id);
	assert_int_equal(stats(h).used, 1);
	find_sign(h, id);
	find_sign(h, id);
	s = stats(h);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.misses, 0);
	/* Destroyed through the backend: forgotten, and not found. */
	assert_int_equal(hsm_key_find(h, id, &k, &err), 0);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	assert_int_equal(stats(h).used, 0);
	assert_int_equal(hsm_key_find(h, id, &k, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	s = stats(h);
	assert_int_equal(s.misses, 1);
	assert_int_equal(s.stale, 0);
	hsm_close(h);
	assert_int_equal(hsm_p11_cache_stats(NULL, &s), -1);
}

/* A reopened backend starts empty: the first find searches, then hits. */
static void
test_fill_evict(void **state)
{
	struct hsm			*h = open_token(4);
	struct hsm_p11_cache_stats	 s;
	struct hsm_key			*k;
	struct cm_err			 err;
	char				 id[6][HSM_KEY_ID_LEN + 1];
	int				 i;

	assert_int_equal(stats(h).capacity, 4);
	for (i = 0; i < 6; i++) {
		char label[16];

		snprintf(label, sizeof(label), "evict-%d", i);
		new_key(h, label, id[i]);
	}
	s = stats(h);
	assert_int_equal(s.used, 4);
	assert_int_equal(s.evictions, 2);
	hsm_close(h);

	h = open_token(4);
	for (i = 0; i < 6; i++)
		find_sign(h, id[i]);
	s = stats(h);
	assert_int_equal(s.misses, 6);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.used, 4);
	/* The four most recent are hits; the two oldest were replaced. */
	for (i = 2; i < 6; i++)
		find_sign(h, id[i]);
	assert_int_equal(stats(h).hits, 4);
	find_sign(h, id[0]);
	s = stats(h);
	assert_int_equal(s.misses, 7);
	assert_int_equal(s.evictions, 3);
	for (i = 0; i < 6; i++) {
		assert_int_equal(hsm_key_find(h, id[i], &k, &err), 0);
		assert_int_equal(hsm_key_destroy(k, &err), 0);
	}
	hsm_close(h);
}

/* key_cache = -1: no cache, every find searches. */
static void
test_off(void **state)
{
	struct hsm			*h = open_token(-1);
	struct hsm_p11_cache_stats	 s;
	struct hsm_key			*k;
	struct cm_err			 err;
	char				 id[HSM_KEY_ID_LEN + 1];

	new_key(h, "off", id);
	find_sign(h, id);
	find_sign(h, id);
	s = stats(h);
	assert_int_equal(s.capacity, 0);
	assert_int_equal(s.used, 0);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.misses, 2);
	assert_int_equal(hsm_key_find(h, id, &k, &err), 0);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
}

/* Destroys both halves of key id in a session of our own (not the backend). */
static void
destroy_directly(const char *id)
{
	CK_C_GetFunctionList	 gfl;
	CK_FUNCTION_LIST	*f;
	CK_SLOT_ID		 slots[16];
	CK_ULONG		 n = 16, i, nobj;
	CK_TOKEN_INFO		 ti;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_HANDLE	 o[4];
	uint8_t			 raw[HSM_KEY_ID_LEN / 2];
	CK_ATTRIBUTE		 t = { CKA_ID, raw, sizeof(raw) };
	void			*dl = dlopen(SOFTHSM, RTLD_NOW);

	assert_non_null(dl);
	gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	assert_non_null(gfl);
	assert_int_equal(gfl(&f), CKR_OK);
	/* The backend has initialised the module and logged in (per process). */
	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++)
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, LABEL, strlen(LABEL)) == 0)
			break;
	assert_true(i < n);
	assert_int_equal(f->C_OpenSession(slots[i], CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
	assert_int_equal(cm_hex_decode(id, raw, sizeof(raw)), 0);
	assert_int_equal(f->C_FindObjectsInit(s, &t, 1), CKR_OK);
	assert_int_equal(f->C_FindObjects(s, o, 4, &nobj), CKR_OK);
	assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(nobj, 2);
	for (i = 0; i < nobj; i++)
		assert_int_equal(f->C_DestroyObject(s, o[i]), CKR_OK);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
	dlclose(dl);
}

/* The cached handle is refused: one search, then a clean "not found". */
static void
assert_gone(struct hsm *h, const char *id)
{
	struct hsm_p11_cache_stats	 s0 = stats(h), s;
	struct hsm_key			*k = NULL;
	struct cm_err			 err;

	assert_int_equal(hsm_key_find(h, id, &k, &err), -1);
	assert_null(k);
	assert_int_equal(err.code, CM_ENOTFOUND);
	if (strstr(err.msg, id) == NULL)
		fail_msg("\"%s\" does not name the key", err.msg);
	s = stats(h);
	assert_int_equal(s.hits, s0.hits + 1);
	assert_int_equal(s.stale, s0.stale + 1);
	assert_int_equal(s.used, s0.used - 1);
	/* Forgotten: the next find searches (a miss), not the old handle. */
	assert_int_equal(hsm_key_find(h, id, &k, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_int_equal(stats(h).stale, s.stale);
	assert_int_equal(stats(h).misses, s.misses + 1);
}

static void
test_destroyed_elsewhere(void **state)
{
	struct hsm	*h = open_token(0);
	struct hsm_key	*k;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1], other[HSM_KEY_ID_LEN + 1];

	new_key(h, "elsewhere", id);
	new_key(h, "survivor", other);
	find_sign(h, id);
	/* A handle the backend holds goes stale too: signing fails cleanly. */
	assert_int_equal(hsm_key_find(h, id, &k, &err), 0);
	destroy_directly(id);
	assert_gone(h, id);
	{
		uint8_t	md[32] = { 7 }, sig[HSM_SIG_MAX];
		size_t	len;

		assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), -1);
		assert_int_equal(err.code, CM_ECRYPTO);
	}
	hsm_key_free(k);
	/* The other key is unaffected. */
	find_sign(h, other);
	assert_int_equal(hsm_key_find(h, other, &k, &err), 0);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
}

static void
test_destroyed_by_other_process(void **state)
{
	struct hsm	*h = open_token(0);
	char		 id[HSM_KEY_ID_LEN + 1], self[4096];
	ssize_t		 n;
	pid_t		 pid;
	int		 status;

	new_key(h, "other-process", id);
	find_sign(h, id);
	assert_int_equal(stats(h).hits, 1);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	/* A new program, not a fork: PKCS#11 state does not survive fork(). */
	if ((pid = fork()) == 0) {
		execl(self, self, "--destroy", id, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_gone(h, id);
	hsm_close(h);
}

#define NTHREAD_KEYS	5

struct finder {
	struct hsm	*h;
	char		(*id)[HSM_KEY_ID_LEN + 1];
	int		 first, n, ok;
};

static void *
find_many(void *arg)
{
	struct finder	*f = arg;
	struct hsm_key	*k;
	struct cm_err	 err;

	for (int i = 0; i < f->n; i++) {
		const char *id = f->id[(f->first + i) % NTHREAD_KEYS];

		if (hsm_key_find(f->h, id, &k, &err) == 0) {
			if (strcmp(hsm_key_id(k), id) == 0)
				f->ok++;
			hsm_key_free(k);
		}
	}
	return NULL;
}

/* Four threads find five keys through a four-entry cache at once. */
static void
test_threads(void **state)
{
	struct hsm			*h = open_token(4);
	struct hsm_p11_cache_stats	 s0, s;
	struct hsm_key			*k;
	struct cm_err			 err;
	struct finder			 f[4];
	pthread_t			 t[4];
	char				 id[NTHREAD_KEYS][HSM_KEY_ID_LEN + 1];
	int				 i;

	for (i = 0; i < NTHREAD_KEYS; i++)
		new_key(h, "threads", id[i]);
	s0 = stats(h);
	for (i = 0; i < 4; i++) {
		f[i] = (struct finder){ .h = h, .id = id, .first = i, .n = 60 };
		assert_int_equal(pthread_create(&t[i], NULL, find_many, &f[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(f[i].ok, 60);
	}
	s = stats(h);
	assert_int_equal(s.hits + s.misses, s0.hits + s0.misses + 4 * 60);
	assert_int_equal(s.stale, 0);
	assert_int_equal(s.used, 4);
	/* Five keys in four entries: some finds had to search. */
	assert_true(s.misses > s0.misses);
	assert_true(s.evictions > s0.evictions);
	for (i = 0; i < NTHREAD_KEYS; i++) {
		assert_int_equal(hsm_key_find(h, id[i], &k, &err), 0);
		assert_int_equal(hsm_key_destroy(k, &err), 0);
	}
	hsm_close(h);
}

/* The other process of test_destroyed_by_other_process(). */
static int
destroy_main(const char *id)
{
	struct hsm_p11_conf	 c = { .module = SOFTHSM, .token_label = LABEL,
	    .pin_env = PIN_ENV, .key_cache = -1 };
	struct hsm		*h;
	struct hsm_key		*k;
	struct cm_err		 err;

	if ((h = hsm_open_pkcs11(&c, &err)) == NULL ||
	    hsm_key_find(h, id, &k, &err) == -1 ||
	    hsm_key_destroy(k, &err) == -1) {
		fprintf(stderr, "destroy %s: %s\n", id, err.msg);
		return 1;
	}
	hsm_close(h);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hits),
		cmocka_unit_test(test_fill_evict),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_destroyed_elsewhere),
		cmocka_unit_test(test_destroyed_by_other_process),
		cmocka_unit_test(test_threads),
	};

	if (argc == 3 && strcmp(argv[1], "--destroy") == 0)
		return destroy_main(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
