/*
 * ca_cms_msg: RFC 6492 §3.1 protocol message CMS: profile (one cert, one
 * CRL, id-ct-xml), verification against a BPKI TA with its CRL, and the
 * failure cases a server must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/cms_msg.h"
#include "ca_objtest.h"

#define NOW	1795000000

static const char xml[] = "<msg xmlns=\"http://www.hactrn.net/uris/rpki/"
    "publication-spec/\" type=\"query\" version=\"4\"><list/></msg>";

struct bpki {
	EVP_PKEY	*takey, *eekey;
	X509		*ta, *ee;
	X509_CRL	*crl;
};

static X509 *
mkcert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn,
    long serial, int ca)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 300);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + 86400);
	X509_set_pubkey(x, key);
	objtest_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
	    "hash");
	if (ca)
		objtest_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	else
		objtest_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static X509_CRL *
mkcrl(X509 *issuer, EVP_PKEY *key, long revoked, time_t next)
{
	X509_CRL	*crl = X509_CRL_new();
	ASN1_TIME	*t = ASN1_TIME_set(NULL, NOW - 60);

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, next);
	X509_CRL_set1_nextUpdate(crl, t);
	if (revoked > 0) {
		X509_REVOKED	*r = X509_REVOKED_new();
		ASN1_INTEGER	*s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, revoked);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, NOW - 60);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	return crl;
}

static int
setup(void **state)
{
	struct bpki *b = calloc(1, sizeof(*b));

	b->takey = objtest_key();
	b->eekey = objtest_key();
	b->ta = mkcert(b->takey, b->takey, NULL, "alice-ta", 1, 1);
	b->ee = mkcert(b->eekey, b->takey, b->ta, "alice-ee", 2, 0);
	b->crl = mkcrl(b->ta, b->takey, 0, NOW + 3600);
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	struct bpki *b = *state;

	X509_free(b->ta);
	X509_free(b->ee);
	X509_CRL_free(b->crl);
	EVP_PKEY_free(b->takey);
	EVP_PKEY_free(b->eekey);
	free(b);
	return 0;
}

static void
test_sign_verify(void **state)
{
	struct bpki		*b = *state;
	struct ca_cms_msg	 m;
	struct cm_err		 err;
	const unsigned char	*p;
	CMS_ContentInfo		*cms;
	STACK_OF(X509_CRL)	*crls;
	CMS_SignerInfo		*si;
	uint8_t			*der;
	size_t			 len;

	assert_int_equal(ca_cms_msg_sign("alice", (const uint8_t *)xml,
	    strlen(xml), b->ee, b->eekey, b->crl, NOW - 5, &der, &len, &err),
	    0);
	/* Profile as OpenSSL sees it. */
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	assert_true(ca_asn1_oid_is(CMS_get0_eContentType(cms), CA_OID_CT_XML));
	crls = CMS_get1_crls(cms);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_int_equal(CMS_signed_get_attr_count(si), 3);
	CMS_ContentInfo_free(cms);
	assert_int_equal(ca_cms_check_shape("alice", der, len, 1, &err), 0);
	/* ... and not a valid RPKI signed object (that forbids CRLs). */
	assert_int_equal(ca_cms_check_shape("alice", der, len, 0, &err), -1);

	assert_int_equal(ca_cms_msg_verify("alice", der, len, b->ta, NOW, &m,
	    &err), 0);
	assert_int_equal(m.xml_len, strlen(xml));
	assert_string_equal((char *)m.xml, xml);
	assert_int_equal(m.signing_time, NOW - 5);
	assert_int_equal(X509_cmp(m.ee, b->ee), 0);
	ca_cms_msg_free(&m);
	ca_cms_msg_free(NULL);
	free(der);
}

/* Sign with crl, verify against ta at now; expect failure naming want. */
static void
refused(struct bpki *b, X509 *ee, EVP_PKEY *eekey, X509_CRL *crl, X509 *ta,
    time_t now, const char *want)
{
	struct ca_cms_msg	 m;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	assert_int_equal(ca_cms_msg_sign("alice", (const uint8_t *)xml,
	    strlen(xml), ee, eekey, crl, NOW, &der, &len, &err), 0);
	assert_int_equal(ca_cms_msg_verify("alice", der, len, ta, now, &m,
	    &err), -1);
	assert_null(m.xml);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
	assert_memory_equal(err.msg, "alice: ", 7);
	free(der);
}

static void
test_refusals(void **state)
{
	struct bpki	*b = *state;
	EVP_PKEY	*k = objtest_key();
	X509		*other = mkcert(k, k, NULL, "mallory-ta", 1, 1);
	X509		*stranger = mkcert(b->eekey, k, other, "mallory-ee", 2,
	    0);
	X509_CRL	*revoked = mkcrl(b->ta, b->takey, 2, NOW + 3600);
	X509_CRL	*stale = mkcrl(b->ta, b->takey, 0, NOW - 1);
	X509_CRL	*foreign = mkcrl(other, k, 0, NOW + 3600);

	refused(b, b->ee, b->eekey, b->crl, other, NOW, "not issued");
	refused(b, stranger, b->eekey, b->crl, b->ta, NOW, "BPKI EE cert");
	refused(b, b->ee, b->eekey, revoked, b->ta, NOW, "revoked");
	refused(b, b->ee, b->eekey, stale, b->ta, NOW, "CRL has expired");
	refused(b, b->ee, b->eekey, foreign, b->ta, NOW, "not issued");
	refused(b, b->ee, b->eekey, b->crl, b->ta, NOW + 2 * 86400,
	    "BPKI EE cert");
	X509_CRL_free(revoked);
	X509_CRL_free(stale);
	X509_CRL_free(foreign);
	X509_free(stranger);
	X509_free(other);
	EVP_PKEY_free(k);
}

static void
test_tampered(void **state)
{
	struct bpki		*b = *state;
	struct ca_cms_msg	 m;
	struct cm_err		 err;
	uint8_t			*der, *t;
	size_t			 len, fails = 0;

	assert_int_equal(ca_cms_msg_sign("alice", (const uint8_t *)xml,
	    strlen(xml), b->ee, b->eekey, b->crl, NOW, &der, &len, &err), 0);
	t = memmem(der, len, "<list/>", 7);
	assert_non_null(t);
	t[1] = 'L';
	assert_int_equal(ca_cms_msg_verify("alice", der, len, b->ta, NOW, &m,
	    &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	t[1] = 'l';
	for (size_t n = 0; n < len; n += 13) {
		if (ca_cms_msg_verify("alice", der, n, b->ta, NOW, &m, &err))
			fails++;
	}
	assert_int_equal(fails, (len + 12) / 13);
	free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_tampered),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
