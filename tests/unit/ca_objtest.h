/*
 * Helpers shared by the signed-object tests (test_ca_cms.c, test_ca_roa.c,
 * test_ca_mft.c, test_ca_aspa.c): RSA keys and minimal RFC 6487-shaped EE
 * certs made with plain OpenSSL calls, so that the object code is tested
 * independently of the certificate issuer in ca/cert.c.
 */
#ifndef CA_OBJTEST_H
#define CA_OBJTEST_H

#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

enum objtest_res { OT_ROA, OT_INHERIT, OT_ASPA, OT_NONE };

static inline EVP_PKEY *
objtest_key(void)
{
	return EVP_RSA_gen(2048);
}

static inline int
objtest_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	int		 ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/*
 * An EE cert for eekey, signed by cakey, valid nb..na, with resources by
 * kind: OT_ROA: ip (an OpenSSL sbgp-ipAddrBlock value string, e.g.
 * "IPv4:192.0.2.0/24"); OT_INHERIT: IPv4+IPv6+AS inherit; OT_ASPA: the AS
 * list string asn (e.g. "AS:64496").
 */
static inline X509 *
objtest_ee(EVP_PKEY *cakey, EVP_PKEY *eekey, time_t nb, time_t na,
    enum objtest_res kind, const char *res)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	int		 ok;

	ok = x != NULL && n != NULL && X509_set_version(x, 2) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 42) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"objtest", -1, -1, 0) &&
	    X509_set_issuer_name(x, n) && X509_set_subject_name(x, n) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) &&
	    ASN1_TIME_set(X509_getm_notAfter(x), na) &&
	    X509_set_pubkey(x, eekey) &&
	    objtest_ext(x, x, NID_subject_key_identifier, "hash") &&
	    objtest_ext(x, x, NID_key_usage, "critical,digitalSignature");
	if (ok && kind == OT_ROA)
		ok = objtest_ext(x, x, NID_sbgp_ipAddrBlock, res);
	if (ok && kind == OT_INHERIT)
		ok = objtest_ext(x, x, NID_sbgp_ipAddrBlock,
		    "critical,IPv4:inherit,IPv6:inherit") &&
		    objtest_ext(x, x, NID_sbgp_autonomousSysNum,
		    "critical,AS:inherit");
	if (ok && kind == OT_ASPA)
		ok = objtest_ext(x, x, NID_sbgp_autonomousSysNum, res);
	if (ok)
		ok = X509_sign(x, cakey, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Counts occurrences of the byte string needle in hay. */
static inline int
objtest_count(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	int	c = 0;

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			c++;
	return c;
}

#endif
