/*
 * Certificate and CRL signing through the signer interface: both
 * AlgorithmIdentifiers carry sha256WithRSAEncryption with an explicit NULL,
 * the signature verifies with the issuer key only, and a signer that fails
 * makes the call fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/sign.h"

static EVP_PKEY	*key1, *key2;

static int
setup(void **state)
{
	key1 = EVP_RSA_gen(2048);
	key2 = EVP_RSA_gen(2048);
	return key1 != NULL && key2 != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	return 0;
}

static X509_NAME *
cn(void)
{
	X509_NAME	*n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN",
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"test", -1, -1, 0),
	    1);
	return n;
}

/* sha256WithRSAEncryption with a present, NULL-typed parameter. */
static void
assert_alg(const X509_ALGOR *a)
{
	const ASN1_OBJECT	*obj;
	int			 ptype;
	const void		*pval;

	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha256WithRSAEncryption);
	assert_int_equal(ptype, V_ASN1_NULL);
}

static X509 *
new_cert(void)
{
	X509		*x = X509_new();
	X509_NAME	*n = cn();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, NULL));
	assert_int_equal(X509_set_pubkey(x, key1), 1);
	X509_NAME_free(n);
	return x;
}

static void
test_sign_cert(void **state)
{
	struct cm_err		 err;
	struct hsm_key		*k = hsm_key_wrap(key1);
	X509			*x = new_cert(), *y;
	const X509_ALGOR	*outer;
	uint8_t			*der = NULL;
	const uint8_t		*p;
	int			 len;

	assert_non_null(k);
	assert_int_equal(ca_sign_cert(x, k, &err), 0);
	assert_int_equal(X509_verify(x, key1), 1);
	assert_int_not_equal(X509_verify(x, key2), 1);

	/* Check the encoding, not only the in-memory object. */
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	p = der;
	y = d2i_X509(NULL, &p, len);
	assert_non_null(y);
	X509_get0_signature(NULL, &outer, y);
	assert_alg(outer);
	assert_alg(X509_get0_tbs_sigalg(y));
	assert_int_equal(X509_verify(y, key1), 1);

	X509_free(y);
	OPENSSL_free(der);
	X509_free(x);
	hsm_key_free(k);
}

static void
test_sign_crl(void **state)
{
	struct cm_err		 err;
	struct hsm_key		*k = hsm_key_wrap(key2);
	X509_CRL		*c = X509_CRL_new(), *d;
	X509_NAME		*n = cn();
	ASN1_TIME		*t = ASN1_TIME_set(NULL, time(NULL));
	const X509_ALGOR	*outer;
	uint8_t			*der = NULL;
	const uint8_t		*p;
	int			 len;

	assert_non_null(k);
	assert_non_null(c);
	assert_non_null(t);
	assert_int_equal(X509_CRL_set_version(c, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(c, n), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(c, t), 1);
	assert_int_equal(X509_CRL_set1_nextUpdate(c, t), 1);
	assert_int_equal(ca_sign_crl(c, k, &err), 0);
	assert_int_equal(X509_CRL_verify(c, key2), 1);
	assert_int_not_equal(X509_CRL_verify(c, key1), 1);

	len = i2d_X509_CRL(c, &der);
	assert_true(len > 0);
	p = der;
	d = d2i_X509_CRL(NULL, &p, len);
	assert_non_null(d);
	X509_CRL_get0_signature(d, NULL, &outer);
	assert_alg(outer);
	/* X509_CRL_verify() fails when inner and outer identifiers differ. */
	assert_int_equal(X509_CRL_verify(d, key2), 1);

	X509_CRL_free(d);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_NAME_free(n);
	X509_CRL_free(c);
	hsm_key_free(k);
}

/* A public-only key cannot sign: the call must fail, not emit garbage. */
static void
test_sign_pubonly_fails(void **state)
{
	struct cm_err	 err;
	EVP_PKEY	*pub = NULL;
	uint8_t		*spki = NULL;
	const uint8_t	*p;
	int		 len;
	struct hsm_key	*k;
	X509		*x = new_cert();

	len = i2d_PUBKEY(key1, &spki);
	assert_true(len > 0);
	p = spki;
	pub = d2i_PUBKEY(NULL, &p, len);
	assert_non_null(pub);
	k = hsm_key_wrap(pub);
	assert_non_null(k);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_sign_cert(x, k, &err), -1);
	assert_int_not_equal(err.code, CM_OK);

	hsm_key_free(k);
	EVP_PKEY_free(pub);
	OPENSSL_free(spki);
	X509_free(x);
}

/* Many draws: always 64..159 bits, positive, minimal, within 20 octets. */
static void
test_serial_random(void **state)
{
	struct cm_err	 err;
	uint8_t		 s[20], prev[20] = { 0 };
	size_t		 len, bits;
	unsigned int	 minbits = 999, maxbits = 0;
	int		 i, b;

	for (i = 0; i < 20000; i++) {
		assert_int_equal(ca_cert_serial_random(s, &len, &err), 0);
		assert_true(len >= 8 && len <= 20);
		assert_int_not_equal(s[0], 0);
		for (b = 7; b >= 0 && !(s[0] & (1u << b)); b--)
			;
		bits = (len - 1) * 8 + (size_t)b + 1;
		assert_true(bits >= 64 && bits <= 159);
		if (bits < minbits)
			minbits = (unsigned int)bits;
		if (bits > maxbits)
			maxbits = (unsigned int)bits;
		assert_memory_not_equal(s, prev, len);
		memcpy(prev, s, len);
	}
	/* The whole range is used. */
	assert_int_equal(minbits, 64);
	assert_int_equal(maxbits, 159);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_cert),
		cmocka_unit_test(test_sign_crl),
		cmocka_unit_test(test_sign_pubonly_fails),
		cmocka_unit_test(test_serial_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
