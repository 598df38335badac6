/*
 * Unit tests for the PKCS#11 signer backend against SoftHSM2, with a token
 * that the test initialises in a temporary directory (SOFTHSM2_CONF).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>

#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "hsm/hsm.h"
#include "hsm_testutil.h"

#define LABEL		"cairn-test"
#define PIN		"4711-secret"
#define BADPIN		"wrong-pin-x7"
#define PIN_ENV		"CAIRN_TEST_HSM_PIN"

static char	tmpdir[] = "/tmp/cairn-hsm-p11-XXXXXX";
static char	pinfile[256], badpinfile[256];

#define assert_msg(e, s) do {						\
	if (strstr((e)->msg, (s)) == NULL)				\
		fail_msg("error \"%s\" does not mention \"%s\"",	\
		    (e)->msg, (s));					\
} while (0)

static int
group_setup(void **state)
{
	struct cm_err	err;

	if (hsmtest_token(tmpdir, LABEL, PIN, "12345678") == -1)
		return -1;
	snprintf(pinfile, sizeof(pinfile), "%s/pin", tmpdir);
	snprintf(badpinfile, sizeof(badpinfile), "%s/badpin", tmpdir);
	if (cm_file_write_atomic(pinfile, PIN "\n", strlen(PIN) + 1, 0600,
	    &err) == -1 ||
	    cm_file_write_atomic(badpinfile, BADPIN "\n",
	    strlen(BADPIN) + 1, 0600, &err) == -1)
		return -1;
	setenv(PIN_ENV, PIN, 1);
	return 0;
}

static int
group_teardown(void **state)
{
	hsmtest_cleanup(tmpdir);
	return 0;
}

static struct hsm *
open_token(unsigned sessions, int from_env)
{
	struct hsm_p11_conf	c = {
		.module = SOFTHSM, .token_label = LABEL, .sessions = sessions,
	};
	struct cm_err		err;
	struct hsm		*h;

	if (from_env)
		c.pin_env = PIN_ENV;
	else
		c.pin_file = pinfile;
	if ((h = hsm_open_pkcs11(&c, &err)) == NULL)
		fail_msg("open: %s", err.msg);
	assert_string_equal(hsm_name(h), "pkcs11");
	return h;
}

/* Signs a random digest with k and verifies it with OpenSSL. */
static void
sign_verify(struct hsm_key *k)
{
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 siglen = 0;
	struct cm_err	 err;
	EVP_PKEY_CTX	*ctx;

	assert_int_equal(RAND_bytes(md, sizeof(md)), 1);
	if (hsm_key_sign(k, md, sig, &siglen, &err) != 0)
		fail_msg("sign: %s", err.msg);
	assert_int_equal(siglen, 256);
	ctx = EVP_PKEY_CTX_new(hsm_key_pubkey(k), NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, md, 32), 1);
	md[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(ctx, sig, siglen, md, 32), 1);
	EVP_PKEY_CTX_free(ctx);
}

static void
test_create_sign(void **state)
{
	struct hsm	*h = open_token(0, 0);
	struct hsm_key	*k;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1];
	BIGNUM		*e = NULL;

	if (hsm_key_create(h, "test CA key", &k, &err) != 0)
		fail_msg("create: %s", err.msg);
	assert_int_equal(strlen(hsm_key_id(k)), HSM_KEY_ID_LEN);
	assert_int_equal(hsm_pubkey_id(hsm_key_pubkey(k), id, &err), 0);
	assert_string_equal(id, hsm_key_id(k));
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_pubkey(k)), 2048);
	assert_int_equal(EVP_PKEY_get_bn_param(hsm_key_pubkey(k), "e", &e), 1);
	assert_true(BN_is_word(e, 65537));
	BN_free(e);
	sign_verify(k);
	sign_verify(k);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
}

/* The module's function list and our token's slot, for direct checks. */
struct direct {
	void			*dl;
	CK_FUNCTION_LIST	*f;
	CK_SESSION_HANDLE	 s;
	CK_SLOT_ID		 slot;
};

static void
direct_open(struct direct *d)
{
	CK_C_GetFunctionList	 gfl;
	CK_SLOT_ID		 slots[16];
	CK_ULONG		 n = 16;
	CK_TOKEN_INFO		 ti;
	CK_ULONG		 i;

	d->dl = dlopen(SOFTHSM, RTLD_NOW);
	assert_non_null(d->dl);
	gfl = (CK_C_GetFunctionList)dlsym(d->dl, "C_GetFunctionList");
	assert_non_null(gfl);
	assert_int_equal(gfl(&d->f), CKR_OK);
	/* The backend has initialised the module (state is per process). */
	assert_int_equal(d->f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++)
		if (d->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, LABEL, strlen(LABEL)) == 0)
			break;
	assert_true(i < n);
	d->slot = slots[i];
	assert_int_equal(d->f->C_OpenSession(d->slot, CKF_SERIAL_SESSION, NULL,
	    NULL, &d->s), CKR_OK);
}

static void
direct_close(struct direct *d)
{
	d->f->C_CloseSession(d->s);
	dlclose(d->dl);
}

/* Finds the objects of class cls with the key id; returns how many. */
static CK_ULONG
direct_find(struct direct *d, CK_OBJECT_CLASS cls, const char *id,
    CK_OBJECT_HANDLE *o)
{
	uint8_t		raw[20];
	CK_ATTRIBUTE	t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, raw, sizeof(raw) },
	};
	CK_OBJECT_HANDLE objs[4];
	CK_ULONG	n = 0;

	assert_int_equal(cm_hex_decode(id, raw, sizeof(raw)), 0);
	assert_int_equal(d->f->C_FindObjectsInit(d->s, t, 2), CKR_OK);
	assert_int_equal(d->f->C_FindObjects(d->s, objs, 4, &n), CKR_OK);
	assert_int_equal(d->f->C_FindObjectsFinal(d->s), CKR_OK);
	if (n > 0 && o != NULL)
		*o = objs[0];
	return n;
}

static void
test_attributes(void **state)
{
	struct hsm	*h = open_token(0, 0);
	struct hsm_key	*k;
	struct cm_err	 err;
	struct direct	 d;
	CK_OBJECT_HANDLE priv;
	CK_BBOOL	 tok, priv_, sens, extr, sign, dec, nextr;
	char		 label[64] = "";
	uint8_t		 secret[512];
	CK_ATTRIBUTE	 a[] = {
		{ CKA_TOKEN, &tok, 1 }, { CKA_PRIVATE, &priv_, 1 },
		{ CKA_SENSITIVE, &sens, 1 }, { CKA_EXTRACTABLE, &extr, 1 },
		{ CKA_SIGN, &sign, 1 }, { CKA_DECRYPT, &dec, 1 },
		{ CKA_NEVER_EXTRACTABLE, &nextr, 1 },
		{ CKA_LABEL, label, sizeof(label) - 1 },
	}, sa = { CKA_PRIVATE_EXPONENT, secret, sizeof(secret) };

	assert_int_equal(hsm_key_create(h, "member-ca-42", &k, &err), 0);
	direct_open(&d);
	assert_int_equal(direct_find(&d, CKO_PRIVATE_KEY, hsm_key_id(k), &priv), 1);
	assert_int_equal(direct_find(&d, CKO_PUBLIC_KEY, hsm_key_id(k), NULL), 1);
	assert_int_equal(d.f->C_GetAttributeValue(d.s, priv, a, 8), CKR_OK);
	assert_true(tok && priv_ && sens && !extr && sign && !dec && nextr);
	label[a[7].ulValueLen] = '\0';
	assert_string_equal(label, "member-ca-42");
	/* The module refuses to reveal the private exponent. */
	assert_int_equal(d.f->C_GetAttributeValue(d.s, priv, &sa, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	direct_close(&d);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
}

static void
test_reopen_destroy(void **state)
{
	struct hsm	*h = open_token(0, 0);
	struct hsm_key	*k, *k2;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1];
	EVP_PKEY	*pub;

	assert_int_equal(hsm_key_create(h, "reopen", &k, &err), 0);
	memcpy(id, hsm_key_id(k), sizeof(id));
	pub = hsm_key_pubkey(k);
	EVP_PKEY_up_ref(pub);
	hsm_key_free(k);
	hsm_close(h);

	/* After a restart (PIN from the environment this time). */
	h = open_token(2, 1);
	if (hsm_key_find(h, id, &k2, &err) != 0)
		fail_msg("find: %s", err.msg);
	assert_string_equal(hsm_key_id(k2), id);
	assert_int_equal(EVP_PKEY_eq(pub, hsm_key_pubkey(k2)), 1);
	sign_verify(k2);
	assert_int_equal(hsm_key_destroy(k2, &err), 0);
	assert_int_equal(hsm_key_find(h, id, &k2, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_msg(&err, id);
	hsm_close(h);

	/* Destroyed for good, both halves. */
	h = open_token(0, 0);
	assert_int_equal(hsm_key_find(h, id, &k2, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	{
		struct direct d;

		direct_open(&d);
		assert_int_equal(direct_find(&d, CKO_PUBLIC_KEY, id, NULL), 0);
		assert_int_equal(direct_find(&d, CKO_PRIVATE_KEY, id, NULL), 0);
		direct_close(&d);
	}
	assert_int_equal(hsm_key_find(h, "xyz", &k2, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	hsm_close(h);
	EVP_PKEY_free(pub);
}

/* Nothing this backend logs or returns contains the PIN. */
static void
test_pin_not_logged(void **state)
{
	struct hsm_p11_conf	 c = { .module = SOFTHSM, .token_label = LABEL,
	    .pin_file = badpinfile };
	char			 log[300];
	int			 saved, fd;
	uint8_t			*text;
	size_t			 len;
	struct cm_err		 err;
	struct hsm		*h;
	struct hsm_key		*k;

	snprintf(log, sizeof(log), "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	assert_null(hsm_open_pkcs11(&c, &err));
	fprintf(stderr, "%s\n", err.msg);
	h = open_token(0, 1);
	assert_int_equal(hsm_key_create(h, "log-check", &k, &err), 0);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(cm_file_read(log, 65536, &text, &len, &err), 0);
	assert_non_null(strstr((char *)text, "created key"));
	assert_null(strstr((char *)text, PIN));
	assert_null(strstr((char *)text, BADPIN));
	free(text);
}

static void
test_errors(void **state)
{
	struct hsm_p11_conf	c = {
		.module = SOFTHSM, .token_label = LABEL, .pin_file = badpinfile,
	};
	struct cm_err		err;

	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_EPERM);
	assert_msg(&err, "token " LABEL);
	assert_msg(&err, "wrong PIN");
	assert_null(strstr(err.msg, BADPIN));

	c.pin_file = pinfile;
	c.module = "/nonexistent/libnothere.so";
	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_EIO);
	assert_msg(&err, "/nonexistent/libnothere.so");
	assert_msg(&err, "cannot load PKCS#11 module");

	c.module = SOFTHSM;
	c.token_label = "no-such-token";
	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_msg(&err, "no token labelled \"no-such-token\"");

	c.token_label = LABEL;
	c.pin_file = NULL;
	c.pin_env = "CAIRN_TEST_NO_SUCH_VARIABLE";
	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_EINVAL);
	assert_msg(&err, "CAIRN_TEST_NO_SUCH_VARIABLE is not set");

	c.pin_env = NULL;
	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_EINVAL);
	assert_msg(&err, "no PIN file");
}

/* The token by slot id instead of label; a wrong slot is named. */
static void
test_by_slot(void **state)
{
	struct hsm_p11_conf	 c = { .module = SOFTHSM, .pin_file = pinfile };
	struct hsm		*h = open_token(0, 0);
	struct hsm_key		*k, *k2;
	struct direct		 d;
	struct cm_err		 err;
	uint8_t			 md[32] = { 0 }, sig[HSM_SIG_MAX];
	size_t			 len;

	direct_open(&d);
	c.slot = (long)d.slot;
	d.f->C_CloseSession(d.s);
	hsm_close(h);
	/* The module stays loaded (our dlopen), finalised by the close. */
	if ((h = hsm_open_pkcs11(&c, &err)) == NULL)
		fail_msg("open by slot: %s", err.msg);
	assert_int_equal(hsm_key_create(h, "by-slot", &k, &err), 0);
	sign_verify(k);

	/* A handle whose key was destroyed through another one fails. */
	assert_int_equal(hsm_key_find(h, hsm_key_id(k), &k2, &err), 0);
	assert_int_equal(hsm_key_destroy(k2, &err), 0);
	assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), -1);
	assert_int_equal(err.code, CM_ECRYPTO);
	assert_msg(&err, hsm_key_id(k));
	assert_msg(&err, "HANDLE_INVALID");
	/* Looked up again by CKA_ID: not there any more. */
	assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_msg(&err, "no private key with this CKA_ID");
	hsm_key_free(k);
	hsm_close(h);
	dlclose(d.dl);

	c.slot = (long)d.slot + 1;
	assert_null(hsm_open_pkcs11(&c, &err));
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_msg(&err, "no token in slot");
}

struct worker {
	struct hsm_key	*key;
	int		 n, ok;
};

static void *
sign_many(void *arg)
{
	struct worker	*w = arg;
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new(hsm_key_pubkey(w->key), NULL);

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
		goto out;
	for (int i = 0; i < w->n; i++) {
		RAND_bytes(md, sizeof(md));
		if (hsm_key_sign(w->key, md, sig, &len, &err) == 0 &&
		    EVP_PKEY_verify(ctx, sig, len, md, 32) == 1)
			w->ok++;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

static void
test_threads(void **state)
{
	/* Fewer sessions than threads: some must wait for one. */
	struct hsm	*h = open_token(2, 0);
	struct hsm_key	*k[2];
	struct cm_err	 err;
	struct worker	 w[4];
	pthread_t	 t[4];

	assert_int_equal(hsm_key_create(h, "mt-1", &k[0], &err), 0);
	assert_int_equal(hsm_key_create(h, "mt-2", &k[1], &err), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .key = k[i % 2], .n = 40 };
		assert_int_equal(pthread_create(&t[i], NULL, sign_many, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 40);
	}
	assert_int_equal(hsm_key_destroy(k[0], &err), 0);
	assert_int_equal(hsm_key_destroy(k[1], &err), 0);
	hsm_close(h);
}

/*
 * All sessions of the process die at once (as when the token is pulled or
 * the HSM restarts): one call fails with CM_ERETRY, the next one works.
 */
static void
test_token_gone(void **state)
{
	struct hsm	*h = open_token(2, 0);
	struct hsm_key	*k;
	struct cm_err	 err;
	struct direct	 d;
	uint8_t		 md[32] = { 1 }, sig[HSM_SIG_MAX];
	size_t		 len;

	assert_int_equal(hsm_key_create(h, "gone", &k, &err), 0);
	sign_verify(k);
	direct_open(&d);
	assert_int_equal(d.f->C_CloseAllSessions(d.slot), CKR_OK);
	assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), -1);
	assert_int_equal(err.code, CM_ERETRY);
	assert_msg(&err, "CKR_SESSION_HANDLE_INVALID");
	assert_msg(&err, "re-opened on the next call");
	sign_verify(k);
	sign_verify(k);
	dlclose(d.dl);
	assert_int_equal(hsm_key_destroy(k, &err), 0);
	hsm_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_sign),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_reopen_destroy),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pin_not_logged),
		cmocka_unit_test(test_by_slot),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_token_gone),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
