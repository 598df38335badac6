/* Unit tests for ca/csr: PKCS#10 requests of RFC 6487 §6 and RFC 8209. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/csr.h"
#include "hsm/hsm.h"

#define REPO	"rsync://rpki.example.net/repo/member1/"
#define MFT	REPO "abc.mft"
#define NOTIFY	"https://rrdp.example.net/notification.xml"

struct fx {
	struct hsm	*hsm;
	struct hsm_key	*key;
};

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;

	f->hsm = hsm_open_mem();
	if (hsm_key_create(f->hsm, "child", &f->key, &err) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hsm_key_free(f->key);
	hsm_close(f->hsm);
	free(f);
	return 0;
}

static void
expect_bad(enum ca_csr_kind kind, const uint8_t *der, size_t len,
    const char *want)
{
	struct ca_csr	*c = NULL;
	struct cm_err	 err;

	assert_int_equal(ca_csr_parse("child1", kind, der, len, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.code, CM_EINVAL);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
	assert_true(strncmp(err.msg, "child1: ", 8) == 0);
}

static void
test_make_parse(void **state)
{
	struct fx	*f = *state;
	uint8_t		*der, *longer;
	size_t		 len;
	struct ca_csr	*c;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1];

	if (ca_csr_make(f->key, REPO, MFT, NOTIFY, &der, &len, &err) != 0)
		fail_msg("make: %s", err.msg);
	assert_int_equal(ca_csr_parse("child1", CA_CSR_CA, der, len, &c, &err), 0);
	assert_string_equal(c->sia_repo, REPO);
	assert_string_equal(c->sia_mft, MFT);
	assert_string_equal(c->sia_notify, NOTIFY);
	assert_int_equal(EVP_PKEY_eq(c->key, hsm_key_pubkey(f->key)), 1);
	/* The SKI is the key id of the signer interface. */
	assert_int_equal(hsm_pubkey_id(c->key, id, &err), 0);
	assert_string_equal(id, hsm_key_id(f->key));
	ca_csr_free(c);

	/* A router request is not a CA request. */
	expect_bad(CA_CSR_ROUTER, der, len, "not ECDSA P-256");

	/* Trailing bytes, truncation, a flipped signature bit. */
	longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_bad(CA_CSR_CA, longer, len + 1, "trailing bytes");
	expect_bad(CA_CSR_CA, der, len - 1, "not a PKCS#10");
	memcpy(longer, der, len);
	longer[len - 5] ^= 0x01;
	expect_bad(CA_CSR_CA, longer, len, "signature does not verify");
	free(longer);
	free(der);

	/* Without rpkiNotify is fine. */
	assert_int_equal(ca_csr_make(f->key, REPO, MFT, NULL, &der, &len,
	    &err), 0);
	assert_int_equal(ca_csr_parse("child1", CA_CSR_CA, der, len, &c, &err), 0);
	assert_null(c->sia_notify);
	ca_csr_free(c);
	free(der);
}

static void
test_sia_rules(void **state)
{
	struct fx	*f = *state;
	uint8_t		*der;
	size_t		 len;
	struct cm_err	 err;
	static const struct {
		const char *repo, *mft, *notify, *want;
	} cases[] = {
		{ "rsync://a/repo", "rsync://a/repo/x.mft", NULL, "does not end in '/'" },
		{ REPO, "rsync://a/other/x.mft", NULL, "is not a .mft directly in" },
		{ REPO, REPO "sub/x.mft", NULL, "is not a .mft directly in" },
		{ REPO, REPO "x.crl", NULL, "is not a .mft directly in" },
		{ "https://a/repo/", "https://a/repo/x.mft", NULL, "clean rsync:// URI" },
		{ REPO, MFT, "http://a/n.xml", "clean https:// URI" },
		{ REPO, MFT, "https://a/n .xml", "clean https:// URI" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ca_csr_make(f->key, cases[i].repo, cases[i].mft,
		    cases[i].notify, &der, &len, &err), 0);
		expect_bad(CA_CSR_CA, der, len, cases[i].want);
		free(der);
	}
}

/* Builds a request with OpenSSL directly, for shapes ca_csr_make never makes. */
static uint8_t *
raw_req(EVP_PKEY *key, const EVP_MD *md, int nid_extra, int with_sia,
    size_t *len)
{
	X509_REQ			*req = X509_REQ_new();
	STACK_OF(X509_EXTENSION)	*exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX			 ctx;
	X509_EXTENSION			*ext;
	uint8_t				*der = NULL;
	int				 n;

	X509_REQ_set_version(req, X509_REQ_VERSION_1);
	X509_REQ_set_pubkey(req, key);
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	if (with_sia) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_sinfo_access,
		    "1.3.6.1.5.5.7.48.5;URI:" REPO ",1.3.6.1.5.5.7.48.10;URI:" MFT);
		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
	}
	if (nid_extra == NID_ext_key_usage) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage,
		    "1.3.6.1.5.5.7.3.30");
		sk_X509_EXTENSION_push(exts, ext);
	} else if (nid_extra == NID_crl_distribution_points) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_crl_distribution_points,
		    "URI:rsync://a/b.crl");
		sk_X509_EXTENSION_push(exts, ext);
	}
	if (sk_X509_EXTENSION_num(exts) > 0)
		X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(req, key, md) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_REQ_free(req);
	return der;
}

static void
test_keys_and_extensions(void **state)
{
	struct fx	*f = *state;
	EVP_PKEY	*small, *ec;
	uint8_t		*der;
	size_t		 len;
	struct ca_csr	*c;
	struct cm_err	 err;

	small = EVP_RSA_gen(1024);
	der = raw_req(small, EVP_sha256(), 0, 1, &len);
	expect_bad(CA_CSR_CA, der, len, "not RSA-2048");
	OPENSSL_free(der);
	EVP_PKEY_free(small);

	der = raw_req(hsm_key_pubkey(f->key), EVP_sha1(), 0, 1, &len);
	expect_bad(CA_CSR_CA, der, len, "not sha256WithRSAEncryption");
	OPENSSL_free(der);

	der = raw_req(hsm_key_pubkey(f->key), EVP_sha256(),
	    NID_crl_distribution_points, 1, &len);
	expect_bad(CA_CSR_CA, der, len, "crlDistributionPoints repeated or not "
	    "allowed");
	OPENSSL_free(der);

	der = raw_req(hsm_key_pubkey(f->key), EVP_sha256(), 0, 0, &len);
	expect_bad(CA_CSR_CA, der, len, "no extensionRequest");
	OPENSSL_free(der);

	/* Router: P-256, EKU bgpsec-router, no SIA. */
	ec = EVP_EC_gen("P-256");
	der = raw_req(ec, EVP_sha256(), NID_ext_key_usage, 0, &len);
	assert_int_equal(ca_csr_parse("router1", CA_CSR_ROUTER, der, len, &c,
	    &err), 0);
	assert_null(c->sia_repo);
	ca_csr_free(c);
	expect_bad(CA_CSR_CA, der, len, "not RSA-2048");
	OPENSSL_free(der);
	der = raw_req(ec, EVP_sha256(), NID_ext_key_usage, 1, &len);
	expect_bad(CA_CSR_ROUTER, der, len, "subjectInfoAccess repeated or not "
	    "allowed in a router request");
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
	ec = EVP_EC_gen("P-384");
	der = raw_req(ec, EVP_sha256(), NID_ext_key_usage, 0, &len);
	expect_bad(CA_CSR_ROUTER, der, len, "not ECDSA P-256");
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_parse),
		cmocka_unit_test(test_sia_rules),
		cmocka_unit_test(test_keys_and_extensions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
