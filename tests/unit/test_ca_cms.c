/*
 * ca_cms: RFC 6488 / RFC 9589 signed-object profile, checked at byte level
 * with OpenSSL's own parser, and the strict parser fed hostile variants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca_objtest.h"

#define T0	1795000000	/* 2026-11-17 */

struct fx {
	EVP_PKEY	*ca, *ee;
	X509		*cert;
	uint8_t		*der;
	size_t		 len;
};

static const uint8_t econtent[] = { 0x30, 0x17, 0x02, 0x03, 0x00, 0xfb, 0xf0,
	0x30, 0x10, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x01, 0x30, 0x08, 0x30, 0x06,
	0x03, 0x04, 0x00, 0xc0, 0x00, 0x02 };

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;

	f->ca = objtest_key();
	f->ee = objtest_key();
	f->cert = objtest_ee(f->ca, f->ee, T0, T0 + 86400, OT_ROA,
	    "critical,IPv4:192.0.2.0/24");
	if (f->cert == NULL || ca_cms_sign("t.roa", CA_OID_CT_ROA, econtent,
	    sizeof(econtent), f->cert, f->ee, T0 + 60, &f->der, &f->len,
	    &err) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	free(f->der);
	X509_free(f->cert);
	EVP_PKEY_free(f->ca);
	EVP_PKEY_free(f->ee);
	free(f);
	return 0;
}

/* What OpenSSL sees in our output: the RFC 6488 shape. */
static void
test_profile(void **state)
{
	struct fx		*f = *state;
	const unsigned char	*p = f->der;
	CMS_ContentInfo		*cms = d2i_CMS_ContentInfo(NULL, &p,
	    (long)f->len);
	CMS_SignerInfo		*si;
	STACK_OF(X509)		*certs;
	STACK_OF(X509_CRL)	*crls;
	ASN1_OCTET_STRING	*keyid;
	X509_ALGOR		*dig, *sig;
	char			 oid[64];

	assert_non_null(cms);
	assert_ptr_equal(p, f->der + f->len);
	OBJ_obj2txt(oid, sizeof(oid), CMS_get0_eContentType(cms), 1);
	assert_string_equal(oid, CA_OID_CT_ROA);
	assert_int_equal(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)), 1);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_int_equal(CMS_signed_get_attr_count(si), 3);
	assert_int_equal(CMS_unsigned_get_attr_count(si), -1);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime,
	    -1) >= 0);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities,
	    -1) < 0);
	assert_int_equal(CMS_SignerInfo_get0_signer_id(si, &keyid, NULL,
	    NULL), 1);
	assert_non_null(keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(keyid,
	    X509_get0_subject_key_id(f->cert)), 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	OBJ_obj2txt(oid, sizeof(oid), dig->algorithm, 1);
	assert_string_equal(oid, CA_OID_SHA256);
	assert_null(dig->parameter);
	certs = CMS_get1_certs(cms);
	crls = CMS_get1_crls(cms);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_null(crls);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), f->cert), 0);
	sk_X509_pop_free(certs, X509_free);
	/* SignedData v3 and SignerInfo v3: "02 01 03" twice, DER lengths. */
	static const uint8_t v3[] = { 0x02, 0x01, 0x03 };
	assert_true(objtest_count(f->der, f->len, v3, 3) >= 2);
	assert_int_equal(f->der[1] & 0x80, 0x80);	/* definite long form */
	assert_int_equal(ca_cms_check_shape("t.roa", f->der, f->len, 0, NULL),
	    0);
	CMS_ContentInfo_free(cms);
}

static void
test_roundtrip(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	uint8_t			*again;
	size_t			 alen;

	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, f->der, f->len,
	    &p, &err), 0);
	assert_int_equal(p.econtent_len, sizeof(econtent));
	assert_memory_equal(p.econtent, econtent, sizeof(econtent));
	assert_int_equal(p.signing_time, T0 + 60);
	assert_int_equal(X509_cmp(p.ee, f->cert), 0);
	ca_cms_parsed_free(&p);
	ca_cms_parsed_free(NULL);
	/* Deterministic: same inputs, same bytes. */
	assert_int_equal(ca_cms_sign("t.roa", CA_OID_CT_ROA, econtent,
	    sizeof(econtent), f->cert, f->ee, T0 + 60, &again, &alen, &err), 0);
	assert_int_equal(alen, f->len);
	assert_memory_equal(again, f->der, alen);
	free(again);
}

static void
test_wrong_oid_and_trailing(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	uint8_t			*buf = malloc(f->len + 1);

	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_MFT, f->der, f->len,
	    &p, &err), -1);
	assert_non_null(strstr(err.msg, "t.roa: unexpected eContentType"));
	memcpy(buf, f->der, f->len);
	buf[f->len] = 0;
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, buf, f->len + 1,
	    &p, &err), -1);
	assert_non_null(strstr(err.msg, "trailing"));
	free(buf);
}

static void
test_truncated(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;

	for (size_t n = 0; n < f->len; n += (n < 64 ? 1 : 7))
		assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, f->der, n,
		    &p, &err), -1);
}

/*
 * Flip one bit in every byte.  A flip inside the EE cert's unsigned-by-CMS
 * parts (its own validity, say) can still verify here, because cert
 * validation is the caller's job; but every flip in the eContent, the
 * signed attributes and the signature must fail.
 */
static void
test_bitflips(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	uint8_t			*buf = malloc(f->len);
	size_t			 ec = 0, fails = 0;

	ec = (size_t)(memmem(f->der, f->len, econtent, sizeof(econtent)) ?
	    (const uint8_t *)memmem(f->der, f->len, econtent,
	    sizeof(econtent)) - f->der : 0);
	assert_true(ec > 0);
	for (size_t i = 0; i < f->len; i++) {
		memcpy(buf, f->der, f->len);
		buf[i] ^= 0x01 << (i % 8);
		if (ca_cms_parse("t.roa", CA_OID_CT_ROA, buf, f->len, &p,
		    &err) != 0) {
			fails++;
			continue;
		}
		assert_false(i >= ec && i < ec + sizeof(econtent));
		assert_false(i >= f->len - 256);	/* the RSA signature */
		ca_cms_parsed_free(&p);
	}
	assert_true(fails > f->len / 2);
	free(buf);
}

/* Sign with OpenSSL defaults or extra parts, to feed the parser. */
static uint8_t *
sign_variant(struct fx *f, unsigned flags, int add_crl, size_t *len)
{
	CMS_ContentInfo	*cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_BINARY | CMS_PARTIAL | flags);
	ASN1_OBJECT	*oid = ca_asn1_oid(CA_OID_CT_ROA);
	BIO		*bio = BIO_new_mem_buf(econtent, sizeof(econtent));
	unsigned char	*out = NULL;
	int		 n;

	assert_true(CMS_set1_eContentType(cms, oid));
	assert_non_null(CMS_add1_signer(cms, f->cert, f->ee, EVP_sha256(),
	    CMS_BINARY | CMS_PARTIAL | flags));
	if (add_crl) {
		X509_CRL *crl = X509_CRL_new();

		X509_CRL_set_version(crl, 1);
		X509_CRL_set_issuer_name(crl, X509_get_subject_name(f->cert));
		X509_CRL_sign(crl, f->ca, EVP_sha256());
		assert_true(CMS_add1_crl(cms, crl));
		X509_CRL_free(crl);
	}
	assert_true(CMS_final(cms, bio, NULL, CMS_BINARY));
	n = i2d_CMS_ContentInfo(cms, &out);
	assert_true(n > 0);
	*len = (size_t)n;
	BIO_free(bio);
	ASN1_OBJECT_free(oid);
	CMS_ContentInfo_free(cms);
	return out;
}

static void
test_off_profile(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	/* OpenSSL's default adds smimeCapabilities and "now". */
	der = sign_variant(f, CMS_USE_KEYID, 0, &len);
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, der, len, &p,
	    &err), -1);
	assert_non_null(strstr(err.msg, "signed attributes"));
	OPENSSL_free(der);
	/* issuerAndSerialNumber sid: SignerInfo v1. */
	der = sign_variant(f, CMS_NOSMIMECAP, 0, &len);
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, der, len, &p,
	    &err), -1);
	assert_non_null(strstr(err.msg, "version"));
	OPENSSL_free(der);
	/* A CRL inside a signed object. */
	der = sign_variant(f, CMS_NOSMIMECAP | CMS_USE_KEYID, 1, &len);
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, der, len, &p,
	    &err), -1);
	assert_non_null(strstr(err.msg, "CRL"));
	OPENSSL_free(der);
}

/* Streaming (indefinite-length BER) output of the same object. */
static void
test_ber_refused(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	const unsigned		 fl = CMS_BINARY | CMS_NOSMIMECAP |
	    CMS_PARTIAL | CMS_STREAM;
	CMS_ContentInfo		*cms = CMS_sign(NULL, NULL, NULL, NULL, fl);
	ASN1_OBJECT		*oid = ca_asn1_oid(CA_OID_CT_ROA);
	BIO			*in = BIO_new_mem_buf(econtent,
	    sizeof(econtent)), *out = BIO_new(BIO_s_mem());
	CMS_SignerInfo		*si;
	ASN1_TIME		*t = ASN1_TIME_set(NULL, T0);
	BUF_MEM			*bm;

	assert_true(CMS_set1_eContentType(cms, oid));
	si = CMS_add1_signer(cms, f->cert, f->ee, EVP_sha256(),
	    fl | CMS_USE_KEYID);
	assert_non_null(si);
	assert_true(CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
	    t->type, t, -1));
	assert_true(i2d_CMS_bio_stream(out, cms, in, fl));
	BIO_get_mem_ptr(out, &bm);
	assert_int_equal((uint8_t)bm->data[1], 0x80);	/* indefinite */
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA,
	    (const uint8_t *)bm->data, bm->length, &p, &err), -1);
	ASN1_TIME_free(t);
	BIO_free(in);
	BIO_free(out);
	ASN1_OBJECT_free(oid);
	CMS_ContentInfo_free(cms);
}

static void
test_signing_time_2050(void **state)
{
	struct fx		*f = *state;
	struct ca_cms_parsed	 p;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	const time_t		 t = 2556143999;	/* 2050-12-31 */
	/* id-signingTime, then SET { UTCTime | GeneralizedTime }. */
	static const uint8_t	 ut[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	    0xf7, 0x0d, 0x01, 0x09, 0x05, 0x31, 0x0f, 0x17, 0x0d, '2', '6' };
	static const uint8_t	 gt[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	    0xf7, 0x0d, 0x01, 0x09, 0x05, 0x31, 0x11, 0x18, 0x0f, '2', '0',
	    '5', '0' };

	/* The normal case is UTCTime. */
	assert_int_equal(objtest_count(f->der, f->len, ut, sizeof(ut)), 1);
	assert_int_equal(ca_cms_sign("t.roa", CA_OID_CT_ROA, econtent,
	    sizeof(econtent), f->cert, f->ee, t, &der, &len, &err), 0);
	assert_int_equal(objtest_count(der, len, gt, sizeof(gt)), 1);
	assert_int_equal(ca_cms_parse("t.roa", CA_OID_CT_ROA, der, len, &p,
	    &err), 0);
	assert_int_equal(p.signing_time, t);
	ca_cms_parsed_free(&p);
	free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wrong_oid_and_trailing),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_off_profile),
		cmocka_unit_test(test_ber_refused),
		cmocka_unit_test(test_signing_time_2050),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
