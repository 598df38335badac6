/*
 * ca_crl: issuing (RFC 6487 §5 / RFC 9829 profile, signed through the
 * signer interface) and the strict parser, one test per rule: each rule is
 * broken in a CRL modified with OpenSSL's own API and re-signed, so that
 * only that rule can reject it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/crl.h"

#define T0	1795000000		/* 2026-11-18 */
#define T2050	2524608000		/* 2050-01-01T00:00:00Z */

struct fx {
	struct hsm	*hsm;
	struct hsm_key	*cakey;
	X509		*ca;
	EVP_PKEY	*other;
};

/* A stand-in issuer: only its subject, SKI and key matter to a CRL. */
static X509 *
issuer_cert(EVP_PKEY *k)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	assert_true(X509_set_version(x, 2) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_NAME_add_entry_by_NID(n, NID_commonName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"crl-test-ca", -1,
	    -1, 0) && X509_set_subject_name(x, n) &&
	    X509_set_issuer_name(x, n) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), T0 - 86400) &&
	    ASN1_TIME_set(X509_getm_notAfter(x), T0 + 365 * 86400) &&
	    X509_set_pubkey(x, k));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash");
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1) && X509_sign(x, k, EVP_sha256()));
	X509_EXTENSION_free(e);
	X509_NAME_free(n);
	return x;
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;

	f->hsm = hsm_open_mem();
	if (hsm_key_create(f->hsm, "ca", &f->cakey, &err) != 0)
		return -1;
	f->ca = issuer_cert(hsm_key_pubkey(f->cakey));
	f->other = EVP_RSA_gen(2048);
	*state = f;
	return f->other == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->ca);
	EVP_PKEY_free(f->other);
	hsm_key_free(f->cakey);
	hsm_close(f->hsm);
	free(f);
	return 0;
}

static const struct ca_crl_entry entries[] = {
	{ { 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 }, 8, T0 - 3600 },
	{ { 0x01 }, 1, T0 - 7200 },
	{ { 0x7f, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55,
	    0x44, 0x33, 0x22, 0x11, 0x00, 0x11, 0x22, 0x33, 0x44 }, 20, T0 },
};

static void
spec(struct fx *f, struct ca_crl_spec *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->issuer = f->ca;
	s->issuer_key = f->cakey;
	s->number = 42;
	s->this_update = T0;
	s->next_update = T0 + 86400;
	s->entries = entries;
	s->nentries = n;
}

static X509_CRL *
issue(struct fx *f, size_t n)
{
	struct ca_crl_spec	 s;
	struct cm_err		 err;
	X509_CRL		*crl = NULL;

	spec(f, &s, n);
	if (ca_crl_issue(&s, &crl, &err) != 0)
		fail_msg("ca_crl_issue: %s", err.msg);
	return crl;
}

static uint8_t *
der_of(X509_CRL *crl, size_t *len)
{
	uint8_t	*der = NULL;
	int	 n = i2d_X509_CRL(crl, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static void
test_round_trip(void **state)
{
	struct fx		*f = *state;
	X509_CRL		*crl = issue(f, 3);
	STACK_OF(X509_REVOKED)	*rv;
	const ASN1_OCTET_STRING	*ski = X509_get0_subject_key_id(f->ca);
	struct ca_crl		*c;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	der = der_of(crl, &len);
	if (ca_crl_parse("ca.crl", der, len, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c->number, 42);
	assert_int_equal(c->this_update, T0);
	assert_int_equal(c->next_update, T0 + 86400);
	assert_memory_equal(c->aki, ski->data, 20);
	assert_int_equal(X509_CRL_get_version(c->crl), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(c->crl),
	    X509_get_subject_name(f->ca)), 0);
	/* UTCTime before 2050. */
	assert_int_equal(X509_CRL_get0_lastUpdate(c->crl)->type,
	    V_ASN1_UTCTIME);
	assert_int_equal(X509_CRL_get0_nextUpdate(c->crl)->type,
	    V_ASN1_UTCTIME);
	/* The signature verifies with the issuer key, and only with it. */
	assert_int_equal(X509_CRL_verify(c->crl,
	    hsm_key_pubkey(f->cakey)), 1);
	assert_int_not_equal(X509_CRL_verify(c->crl, f->other), 1);
	rv = X509_CRL_get_REVOKED(c->crl);
	assert_int_equal(sk_X509_REVOKED_num(rv), 3);
	for (size_t i = 0; i < 3; i++) {
		X509_REVOKED	*r;
		ASN1_INTEGER	*sn;
		BIGNUM		*bn = BN_bin2bn(entries[i].serial,
		    (int)entries[i].serial_len, NULL);
		time_t		 t;
		struct tm	 tm;

		sn = BN_to_ASN1_INTEGER(bn, NULL);
		assert_int_equal(X509_CRL_get0_by_serial(c->crl, &r, sn), 1);
		assert_int_equal(ASN1_TIME_to_tm(
		    X509_REVOKED_get0_revocationDate(r), &tm), 1);
		t = timegm(&tm);
		assert_int_equal(t, entries[i].revoked);
		assert_null(X509_REVOKED_get0_extensions(r));
		ASN1_INTEGER_free(sn);
		BN_free(bn);
	}
	/* Exactly AKI then CRLNumber, both non-critical. */
	assert_int_equal(X509_CRL_get_ext_count(c->crl), 2);
	assert_int_equal(X509_CRL_get_ext_by_NID(c->crl,
	    NID_authority_key_identifier, -1), 0);
	assert_int_equal(X509_CRL_get_ext_by_NID(c->crl, NID_crl_number, -1),
	    1);
	assert_int_equal(X509_CRL_get_ext_by_critical(c->crl, 1, -1), -1);
	ca_crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

/* No revokedCertificates at all when nothing is revoked. */
static void
test_empty(void **state)
{
	struct fx	*f = *state;
	X509_CRL	*crl = issue(f, 0);
	struct ca_crl	*c;
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	der = der_of(crl, &len);
	assert_int_equal(ca_crl_parse("ca.crl", der, len, &c, &err), 0);
	/* Decoding an empty SEQUENCE OF would give an empty stack. */
	assert_null(X509_CRL_get_REVOKED(c->crl));
	ca_crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

/* GeneralizedTime from 2050 on (RFC 5280 §5.1.2.4/5). */
static void
test_generalized_time(void **state)
{
	struct fx		*f = *state;
	struct ca_crl_spec	 s;
	struct ca_crl		*c;
	struct cm_err		 err;
	X509_CRL		*crl;
	uint8_t			*der;
	size_t			 len;

	spec(f, &s, 0);
	s.this_update = T2050 - 60;
	s.next_update = T2050 + 60;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), 0);
	der = der_of(crl, &len);
	assert_int_equal(ca_crl_parse("ca.crl", der, len, &c, &err), 0);
	assert_int_equal(X509_CRL_get0_lastUpdate(c->crl)->type,
	    V_ASN1_UTCTIME);
	assert_int_equal(X509_CRL_get0_nextUpdate(c->crl)->type,
	    V_ASN1_GENERALIZEDTIME);
	assert_int_equal(c->next_update, T2050 + 60);
	ca_crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

static void
test_issue_errors(void **state)
{
	struct fx		*f = *state;
	struct ca_crl_spec	 s;
	struct ca_crl_entry	 bad = { { 0 }, 1, T0 };
	struct hsm_key		*k = hsm_key_wrap(f->other);
	struct cm_err		 err;
	X509_CRL		*crl = NULL;

	spec(f, &s, 0);
	s.next_update = s.this_update;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), -1);
	assert_non_null(strstr(err.msg, "nextUpdate must be after"));
	spec(f, &s, 0);
	s.issuer_key = k;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), -1);
	assert_non_null(strstr(err.msg, "issuer key does not match"));
	spec(f, &s, 0);
	s.entries = &bad;
	s.nentries = 1;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), -1);
	assert_non_null(strstr(err.msg, "entry 0: serial"));
	bad.serial_len = 21;
	bad.serial[0] = 1;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), -1);
	/* 20 octets with the top bit set need a 21st (sign) octet. */
	bad.serial_len = 20;
	bad.serial[0] = 0x80;
	assert_int_equal(ca_crl_issue(&s, &crl, &err), -1);
	assert_non_null(strstr(err.msg, "entry 0: serial"));
	assert_null(crl);
	hsm_key_free(k);
}

/*
 * The strictness rules.  mutate() issues a good CRL with one entry, lets
 * fn change it, re-signs it with the CA key through OpenSSL (unless fn
 * returned 1: it signed itself) and requires the parser to fail with a
 * message containing want.
 */
typedef int (*mutator)(struct fx *, X509_CRL *);

static void
expect_reject(const uint8_t *der, size_t len, const char *want)
{
	struct ca_crl	*c = NULL;
	struct cm_err	 err;

	memset(&err, 0, sizeof(err));
	if (ca_crl_parse("bad.crl", der, len, &c, &err) == 0) {
		ca_crl_free(c);
		fail_msg("accepted a CRL that should fail with \"%s\"", want);
	}
	assert_int_equal(err.code, CM_EINVAL);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg,
		    want);
	assert_null(c);
}

static void
mutate(struct fx *f, mutator fn, const char *want)
{
	X509_CRL	*crl = issue(f, 1);
	struct ca_crl	*c;
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	if (fn(f, crl) == 0)
		assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
		    EVP_sha256()) > 0);
	der = der_of(crl, &len);
	expect_reject(der, len, want);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	/* Control: the unmodified CRL, re-signed by OpenSSL, is accepted. */
	crl = issue(f, 1);
	assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
	    EVP_sha256()) > 0);
	der = der_of(crl, &len);
	if (ca_crl_parse("good.crl", der, len, &c, &err) != 0)
		fail_msg("control: %s", err.msg);
	ca_crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

static int
m_v1(struct fx *f, X509_CRL *crl)
{
	return !X509_CRL_set_version(crl, 0);
}

static int
m_sha384(struct fx *f, X509_CRL *crl)
{
	assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
	    EVP_sha384()) > 0);
	return 1;
}

/* Outer algorithm differs from the inner one. */
static int
m_outer_alg(struct fx *f, X509_CRL *crl)
{
	const X509_ALGOR	*alg;

	assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
	    EVP_sha256()) > 0);
	X509_CRL_get0_signature(crl, NULL, &alg);
	assert_true(X509_ALGOR_set0((X509_ALGOR *)alg,
	    OBJ_nid2obj(NID_sha512WithRSAEncryption), V_ASN1_NULL, NULL));
	return 1;
}

static int
m_absent_params(struct fx *f, X509_CRL *crl)
{
	const X509_ALGOR	*alg;

	assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
	    EVP_sha256()) > 0);
	X509_CRL_get0_signature(crl, NULL, &alg);
	assert_true(X509_ALGOR_set0((X509_ALGOR *)alg,
	    OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_UNDEF, NULL));
	return 1;
}

static int
m_third_ext(struct fx *f, X509_CRL *crl)
{
	ASN1_INTEGER	*n = ASN1_INTEGER_new();

	assert_true(ASN1_INTEGER_set(n, 41) &&
	    X509_CRL_add1_ext_i2d(crl, NID_delta_crl, n, 1, 0) == 1);
	ASN1_INTEGER_free(n);
	return 0;
}

static int
m_critical_aki(struct fx *f, X509_CRL *crl)
{
	X509_EXTENSION_set_critical(X509_CRL_get_ext(crl, 0), 1);
	return 0;
}

static int
m_critical_number(struct fx *f, X509_CRL *crl)
{
	X509_EXTENSION_set_critical(X509_CRL_get_ext(crl, 1), 1);
	return 0;
}

/* CRLNumber replaced by a second AKI. */
static int
m_no_number(struct fx *f, X509_CRL *crl)
{
	X509_EXTENSION	*e = X509_CRL_delete_ext(crl, 1);

	X509_EXTENSION_free(e);
	assert_true(X509_CRL_add_ext(crl, X509_CRL_get_ext(crl, 0), -1));
	return 0;
}

static int
m_only_aki(struct fx *f, X509_CRL *crl)
{
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, 1));
	return 0;
}

static int
set_number(X509_CRL *crl, ASN1_INTEGER *n)
{
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, 1));
	assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0),
	    1);
	ASN1_INTEGER_free(n);
	return 0;
}

static int
m_negative_number(struct fx *f, X509_CRL *crl)
{
	ASN1_INTEGER	*n = ASN1_INTEGER_new();

	assert_true(ASN1_INTEGER_set(n, -5));
	return set_number(crl, n);
}

/* 2^159: 20 magnitude octets with the top bit set, 21 octets in DER. */
static int
m_long_number(struct fx *f, X509_CRL *crl)
{
	uint8_t	 b[20] = { 0x80 };
	BIGNUM	*bn = BN_bin2bn(b, 20, NULL);
	ASN1_INTEGER *n = BN_to_ASN1_INTEGER(bn, NULL);

	BN_free(bn);
	return set_number(crl, n);
}

static int
m_aki_issuer(struct fx *f, X509_CRL *crl)
{
	AUTHORITY_KEYID	*aki;

	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	assert_non_null(aki);
	aki->serial = ASN1_INTEGER_new();
	assert_true(ASN1_INTEGER_set(aki->serial, 1));
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, 0));
	assert_int_equal(X509_CRL_add1_ext_i2d(crl,
	    NID_authority_key_identifier, aki, 0, 0), 1);
	AUTHORITY_KEYID_free(aki);
	return 0;
}

static int
m_aki_short(struct fx *f, X509_CRL *crl)
{
	AUTHORITY_KEYID	*aki = AUTHORITY_KEYID_new();

	aki->keyid = ASN1_OCTET_STRING_new();
	assert_true(ASN1_OCTET_STRING_set(aki->keyid,
	    (const unsigned char *)"short", 5));
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, 0));
	assert_int_equal(X509_CRL_add1_ext_i2d(crl,
	    NID_authority_key_identifier, aki, 0, 0), 1);
	AUTHORITY_KEYID_free(aki);
	return 0;
}

static int
m_entry_ext(struct fx *f, X509_CRL *crl)
{
	X509_REVOKED		*r = sk_X509_REVOKED_value(
	    X509_CRL_get_REVOKED(crl), 0);
	ASN1_ENUMERATED		*reason = ASN1_ENUMERATED_new();

	assert_true(ASN1_ENUMERATED_set(reason, 1) &&
	    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) == 1);
	ASN1_ENUMERATED_free(reason);
	return 0;
}

static int
m_empty_revoked(struct fx *f, X509_CRL *crl)
{
	X509_REVOKED_free(sk_X509_REVOKED_delete(X509_CRL_get_REVOKED(crl),
	    0));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	return 0;
}

static int
m_zero_serial(struct fx *f, X509_CRL *crl)
{
	X509_REVOKED	*r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl),
	    0);
	ASN1_INTEGER	*z = ASN1_INTEGER_new();

	assert_true(ASN1_INTEGER_set(z, 0) &&
	    X509_REVOKED_set_serialNumber(r, z));
	ASN1_INTEGER_free(z);
	return 0;
}

static int
m_next_equal(struct fx *f, X509_CRL *crl)
{
	return !X509_CRL_set1_nextUpdate(crl, X509_CRL_get0_lastUpdate(crl));
}

static int
m_gentime_early(struct fx *f, X509_CRL *crl)
{
	ASN1_GENERALIZEDTIME	*t = ASN1_GENERALIZEDTIME_set(NULL,
	    T0 + 86400);
	int			 ok = X509_CRL_set1_nextUpdate(crl, t);

	ASN1_GENERALIZEDTIME_free(t);
	return !ok;
}

static int
m_issuer_o(struct fx *f, X509_CRL *crl)
{
	X509_NAME	*n = X509_NAME_dup(X509_CRL_get_issuer(crl));
	int		 ok;

	ok = X509_NAME_add_entry_by_NID(n, NID_organizationName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"Org", -1, -1, 0) &&
	    X509_CRL_set_issuer_name(crl, n);
	X509_NAME_free(n);
	return !ok;
}

static int
m_issuer_utf8(struct fx *f, X509_CRL *crl)
{
	X509_NAME	*n = X509_NAME_new();
	int		 ok;

	ok = X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"crl-test-ca", -1, -1, 0) &&
	    X509_CRL_set_issuer_name(crl, n);
	X509_NAME_free(n);
	return !ok;
}

static void
test_strict_rules(void **state)
{
	struct fx	*f = *state;

	mutate(f, m_v1, "version must be v2");
	mutate(f, m_sha384, "is not sha256WithRSAEncryption");
	mutate(f, m_outer_alg, "CRL signatureAlgorithm is not sha256");
	mutate(f, m_absent_params, "parameters must be NULL");
	mutate(f, m_third_ext, "exactly 2 CRL extensions");
	mutate(f, m_critical_aki, "must not be critical");
	mutate(f, m_critical_number, "must not be critical");
	mutate(f, m_no_number, "unexpected or repeated CRL extension");
	mutate(f, m_only_aki, "exactly 2 CRL extensions");
	mutate(f, m_negative_number, "CRLNumber must be non-negative");
	mutate(f, m_long_number, "at most 20 octets");
	mutate(f, m_aki_issuer, "keyIdentifier only");
	mutate(f, m_aki_short, "20-octet");
	mutate(f, m_entry_ext, "CRL entry extensions");
	mutate(f, m_empty_revoked, "empty revokedCertificates");
	mutate(f, m_zero_serial, "serial must be positive");
	mutate(f, m_next_equal, "nextUpdate is not after thisUpdate");
	mutate(f, m_gentime_early, "before 2050 must be UTCTime");
	mutate(f, m_issuer_o, "other than commonName");
	mutate(f, m_issuer_utf8, "not a PrintableString");
}

/* A 20-octet CRL number (top bit clear) is the largest allowed. */
static void
test_number_20_octets(void **state)
{
	struct fx	*f = *state;
	X509_CRL	*crl = issue(f, 0);
	uint8_t		 b[20] = { 0x7f, 0xff };
	BIGNUM		*bn = BN_bin2bn(b, 20, NULL);
	struct ca_crl	*c;
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	set_number(crl, BN_to_ASN1_INTEGER(bn, NULL));
	BN_free(bn);
	assert_true(X509_CRL_sign(crl, hsm_key_pubkey(f->cakey),
	    EVP_sha256()) > 0);
	der = der_of(crl, &len);
	if (ca_crl_parse("big.crl", der, len, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(c->number == UINT64_MAX);
	ca_crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

/* nextUpdate absent: a CRL rebuilt without it. */
static void
test_no_next_update(void **state)
{
	struct fx	*f = *state;
	X509_CRL	*good = issue(f, 0), *crl = X509_CRL_new();
	uint8_t		*der;
	size_t		 len;

	assert_true(X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_CRL_get_issuer(good)) &&
	    X509_CRL_set1_lastUpdate(crl, X509_CRL_get0_lastUpdate(good)) &&
	    X509_CRL_add_ext(crl, X509_CRL_get_ext(good, 0), -1) &&
	    X509_CRL_add_ext(crl, X509_CRL_get_ext(good, 1), -1) &&
	    X509_CRL_sign(crl, hsm_key_pubkey(f->cakey), EVP_sha256()) > 0);
	der = der_of(crl, &len);
	expect_reject(der, len, "nextUpdate is missing");
	OPENSSL_free(der);
	X509_CRL_free(crl);
	X509_CRL_free(good);
}

/* Encoding rules: trailing bytes, and BER where DER is required. */
static void
test_encoding(void **state)
{
	struct fx	*f = *state;
	X509_CRL	*crl = issue(f, 1);
	uint8_t		*der, *buf;
	size_t		 len, sig;

	der = der_of(crl, &len);
	buf = malloc(len + 1);
	memcpy(buf, der, len);
	buf[len] = 0;
	expect_reject(buf, len + 1, "trailing");
	expect_reject(der, len - 1, "failed to parse");
	/*
	 * The signature BIT STRING "03 82 01 01 00 <256>" rewritten with a
	 * non-minimal length "03 83 00 01 01 00": BER, not DER.
	 */
	sig = len - 261;
	assert_memory_equal(der + sig, "\x03\x82\x01\x01\x00", 5);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	free(buf);
	buf = malloc(len + 1);
	memcpy(buf, der, sig);
	memcpy(buf + sig, "\x03\x83\x00\x01\x01", 5);
	memcpy(buf + sig + 5, der + sig + 4, len - sig - 4);
	{
		unsigned outer = (unsigned)der[2] << 8 | der[3];

		outer++;
		buf[2] = (uint8_t)(outer >> 8);
		buf[3] = (uint8_t)outer;
	}
	expect_reject(buf, len + 1, "not DER");
	free(buf);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_generalized_time),
		cmocka_unit_test(test_issue_errors),
		cmocka_unit_test(test_strict_rules),
		cmocka_unit_test(test_number_20_octets),
		cmocka_unit_test(test_no_next_update),
		cmocka_unit_test(test_encoding),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
