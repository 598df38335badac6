/*
 * Certificate and CRL signing through the signer interface: both
 * AlgorithmIdentifiers carry sha256WithRSAEncryption with an explicit NULL,
 * the signature verifies with the issuer key only, and a signer that fails
 * makes the call fail.
 *
 * Resource certificates: a TA -> CA -> EE chain issued by ca_cert_issue(),
 * parsed back, verified by OpenSSL (X509_V_FLAG_X509_STRICT, RFC 3779 path
 * checks) and by rpki-client; spec errors; and one test per rule of the
 * strict parser, each on a certificate modified with OpenSSL's own API and
 * re-signed, so that only that rule can reject it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/sign.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"

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

/* ---- resource certificates: TA -> CA -> EE ---- */

#define T0	1795000000		/* 2026-11-18 */
#define DAY	86400

#define TA_URI		"rsync://rpki.test/repo/ta.cer"
#define TA_REPO		"rsync://rpki.test/repo/ta/"
#define TA_MFT		TA_REPO "ta.mft"
#define TA_CRL		TA_REPO "ta.crl"
#define CA_URI		TA_REPO "ca.cer"
#define CA_REPO		"rsync://rpki.test/repo/ca/"
#define CA_MFT		CA_REPO "ca.mft"
#define CA_CRL		CA_REPO "ca.crl"
#define NOTIFY		"https://rpki.test/rrdp/notification.xml"

struct chain {
	struct hsm	*hsm;
	struct hsm_key	*takey, *cakey, *eekey;
	struct ca_res	*all, *mine, *inherit;
	X509		*ta, *ca, *ee, *router;
	EVP_PKEY	*rkey;		/* ECDSA P-256 router key */
	struct ca_res	*as;
	time_t		 now;
};

static struct chain	ch;

static struct ca_res *
res(const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_non_null(r);
	if (ca_res_parse(r, CA_RES_AS, as, "t", &err) != 0 ||
	    ca_res_parse(r, CA_RES_V4, v4, "t", &err) != 0 ||
	    ca_res_parse(r, CA_RES_V6, v6, "t", &err) != 0)
		fail_msg("%s", err.msg);
	return r;
}

static void
spec_ta(struct ca_cert_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = CA_CERT_TA;
	s->subject_key = hsm_key_pubkey(ch.takey);
	s->issuer_key = ch.takey;
	s->cn = "Cairn Test TA";
	s->serial[0] = 1;
	s->serial_len = 1;
	s->not_before = ch.now - DAY;
	s->not_after = ch.now + 3650 * DAY;
	s->sia_repo = TA_REPO;
	s->sia_mft = TA_MFT;
	s->sia_notify = NOTIFY;
	s->res = ch.all;
}

static void
spec_ca(struct ca_cert_spec *s)
{
	struct cm_err	err;

	memset(s, 0, sizeof(*s));
	s->kind = CA_CERT_CA;
	s->subject_key = hsm_key_pubkey(ch.cakey);
	s->issuer = ch.ta;
	s->issuer_key = ch.takey;
	assert_int_equal(ca_cert_serial_random(s->serial, &s->serial_len,
	    &err), 0);
	s->not_before = ch.now - 3600;
	s->not_after = ch.now + 365 * DAY;
	s->crldp = TA_CRL;
	s->aia = TA_URI;
	s->sia_repo = CA_REPO;
	s->sia_mft = CA_MFT;
	s->sia_notify = NOTIFY;
	s->res = ch.mine;
}

static void
spec_ee(struct ca_cert_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = CA_CERT_EE;
	s->subject_key = hsm_key_pubkey(ch.eekey);
	s->issuer = ch.ca;
	s->issuer_key = ch.cakey;
	s->serial[0] = 0x42;
	s->serial_len = 1;
	s->not_before = ch.now - 60;
	s->not_after = ch.now + 7 * DAY;
	s->crldp = CA_CRL;
	s->aia = CA_URI;
	s->sia_signed = CA_REPO "x.mft";
	s->res = ch.inherit;
}

/* RFC 8209 router certificate: EC key, AS resources only, no SIA. */
static void
spec_router(struct ca_cert_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = CA_CERT_ROUTER;
	s->subject_key = ch.rkey;
	s->issuer = ch.ca;
	s->issuer_key = ch.cakey;
	s->cn = "ROUTER-0000FBF0";
	s->serial[0] = 0x43;
	s->serial_len = 1;
	s->not_before = ch.now - 60;
	s->not_after = ch.now + 30 * DAY;
	s->crldp = CA_CRL;
	s->aia = CA_URI;
	s->res = ch.as;
}

static X509 *
issue(const struct ca_cert_spec *s)
{
	struct cm_err	 err;
	X509		*x = NULL;

	if (ca_cert_issue(s, &x, &err) != 0)
		fail_msg("ca_cert_issue: %s", err.msg);
	return x;
}

static int
chain_setup(void **state)
{
	struct ca_cert_spec	 s;
	struct cm_err		 err;

	memset(&ch, 0, sizeof(ch));
	ch.now = time(NULL);
	ch.hsm = hsm_open_mem();
	if (ch.hsm == NULL || hsm_key_create(ch.hsm, "ta", &ch.takey,
	    &err) != 0 || hsm_key_create(ch.hsm, "ca", &ch.cakey, &err) != 0 ||
	    hsm_key_create(ch.hsm, "ee", &ch.eekey, &err) != 0)
		return -1;
	ch.all = res("1-4294967295", "0.0.0.0/0", "::/0");
	ch.mine = res("64496-64511", "10.0.0.0/8,192.0.2.0/24",
	    "2001:db8::/32");
	ch.inherit = ca_res_new();
	ca_res_set_inherit(ch.inherit, CA_RES_AS, 1);
	ca_res_set_inherit(ch.inherit, CA_RES_V4, 1);
	ca_res_set_inherit(ch.inherit, CA_RES_V6, 1);
	spec_ta(&s);
	ch.ta = issue(&s);
	spec_ca(&s);
	ch.ca = issue(&s);
	spec_ee(&s);
	ch.ee = issue(&s);
	ch.rkey = EVP_EC_gen("P-256");
	ch.as = res("64496", "", "");
	spec_router(&s);
	ch.router = issue(&s);
	return 0;
}

static int
chain_teardown(void **state)
{
	X509_free(ch.ta);
	X509_free(ch.ca);
	X509_free(ch.ee);
	X509_free(ch.router);
	EVP_PKEY_free(ch.rkey);
	ca_res_free(ch.as);
	ca_res_free(ch.all);
	ca_res_free(ch.mine);
	ca_res_free(ch.inherit);
	hsm_key_free(ch.takey);
	hsm_key_free(ch.cakey);
	hsm_key_free(ch.eekey);
	hsm_close(ch.hsm);
	return 0;
}

static uint8_t *
cert_der(X509 *x, size_t *len)
{
	uint8_t	*der = NULL;
	int	 n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static struct ca_cert *
parse_ok(X509 *x, const char *fn)
{
	struct ca_cert	*c = NULL;
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	der = cert_der(x, &len);
	if (ca_cert_parse(fn, der, len, &c, &err) != 0)
		fail_msg("%s", err.msg);
	OPENSSL_free(der);
	return c;
}

static void
assert_ski(const struct ca_cert *c, struct hsm_key *k)
{
	uint8_t	id[20];

	assert_int_equal(cm_hex_decode(hsm_key_id(k), id, 20), 0);
	assert_memory_equal(c->ski, id, 20);
}

static int
ext_crit(X509 *x, int nid)
{
	int	i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void
test_chain_parse(void **state)
{
	struct ca_cert	*ta = parse_ok(ch.ta, "ta.cer");
	struct ca_cert	*ca = parse_ok(ch.ca, "ca.cer");
	struct ca_cert	*ee = parse_ok(ch.ee, "x.mft EE");
	char		 cn[64];

	assert_int_equal(ta->kind, CA_CERT_TA);
	assert_ski(ta, ch.takey);
	assert_false(ta->has_aki);
	assert_null(ta->crldp);
	assert_null(ta->aia);
	assert_string_equal(ta->sia_repo, TA_REPO);
	assert_string_equal(ta->sia_mft, TA_MFT);
	assert_string_equal(ta->sia_notify, NOTIFY);
	assert_null(ta->sia_signed);
	assert_true(ca_res_equal(ta->res, ch.all));
	X509_NAME_get_text_by_NID(X509_get_subject_name(ch.ta),
	    NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "Cairn Test TA");
	assert_int_equal(X509_get_ext_count(ch.ta), 7);
	assert_int_equal(X509_get_ext_by_NID(ch.ta,
	    NID_authority_key_identifier, -1), -1);

	assert_int_equal(ca->kind, CA_CERT_CA);
	assert_ski(ca, ch.cakey);
	assert_true(ca->has_aki);
	assert_memory_equal(ca->aki, ta->ski, 20);
	assert_string_equal(ca->crldp, TA_CRL);
	assert_string_equal(ca->aia, TA_URI);
	assert_string_equal(ca->sia_repo, CA_REPO);
	assert_string_equal(ca->sia_mft, CA_MFT);
	assert_true(ca_res_equal(ca->res, ch.mine));
	/* Default CN: the hex SKI; issuer: the TA's subject. */
	X509_NAME_get_text_by_NID(X509_get_subject_name(ch.ca),
	    NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, hsm_key_id(ch.cakey));
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(ch.ca),
	    X509_get_subject_name(ch.ta)), 0);
	assert_int_equal(X509_get_ext_count(ch.ca), 10);
	assert_int_equal(X509_get_key_usage(ch.ca), KU_KEY_CERT_SIGN |
	    KU_CRL_SIGN);

	assert_int_equal(ee->kind, CA_CERT_EE);
	assert_memory_equal(ee->aki, ca->ski, 20);
	assert_string_equal(ee->sia_signed, CA_REPO "x.mft");
	assert_null(ee->sia_repo);
	assert_null(ee->sia_notify);
	assert_true(ca_res_is_inherit(ee->res, CA_RES_AS));
	assert_true(ca_res_is_inherit(ee->res, CA_RES_V6));
	assert_int_equal(X509_get_ext_count(ch.ee), 9);
	assert_int_equal(X509_get_ext_by_NID(ch.ee, NID_basic_constraints,
	    -1), -1);
	assert_int_equal(X509_get_key_usage(ch.ee), KU_DIGITAL_SIGNATURE);

	/* Criticality per RFC 6487 §4.8. */
	assert_true(ext_crit(ch.ca, NID_basic_constraints));
	assert_true(ext_crit(ch.ca, NID_key_usage));
	assert_true(ext_crit(ch.ca, NID_certificate_policies));
	assert_true(ext_crit(ch.ca, NID_sbgp_ipAddrBlock));
	assert_true(ext_crit(ch.ca, NID_sbgp_autonomousSysNum));
	assert_false(ext_crit(ch.ca, NID_subject_key_identifier));
	assert_false(ext_crit(ch.ca, NID_authority_key_identifier));
	assert_false(ext_crit(ch.ca, NID_crl_distribution_points));
	assert_false(ext_crit(ch.ca, NID_info_access));
	assert_false(ext_crit(ch.ca, NID_sinfo_access));

	/* Signatures: each by its issuer's key. */
	assert_int_equal(X509_verify(ch.ta, hsm_key_pubkey(ch.takey)), 1);
	assert_int_equal(X509_verify(ch.ca, hsm_key_pubkey(ch.takey)), 1);
	assert_int_equal(X509_verify(ch.ee, hsm_key_pubkey(ch.cakey)), 1);
	assert_int_not_equal(X509_verify(ch.ee, hsm_key_pubkey(ch.takey)), 1);
	ca_cert_free(ta);
	ca_cert_free(ca);
	ca_cert_free(ee);
}

/* OpenSSL's path validation, strict, with the RFC 3779 checks. */
static int
verify(X509 *leaf, X509 *mid)
{
	X509_STORE	*st = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	STACK_OF(X509)	*untrusted = sk_X509_new_null();
	int		 rc;

	assert_true(X509_STORE_add_cert(st, ch.ta));
	if (mid != NULL)
		assert_true(sk_X509_push(untrusted, mid));
	assert_true(X509_STORE_CTX_init(ctx, st, leaf, untrusted));
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(untrusted);
	return rc;
}

static void
test_chain_verify(void **state)
{
	struct ca_cert_spec	 s;
	struct ca_res		*over;
	X509			*bad;

	assert_int_equal(verify(ch.ca, NULL), X509_V_OK);
	assert_int_equal(verify(ch.ee, ch.ca), X509_V_OK);
	/* Without the CA the EE has no path. */
	assert_int_not_equal(verify(ch.ee, NULL), X509_V_OK);
	/*
	 * An EE that claims more than its CA holds: ca_cert_issue() leaves
	 * that to the caller, OpenSSL's RFC 3779 check must catch it.
	 */
	over = res("64496", "11.0.0.0/8", "");
	spec_ee(&s);
	s.res = over;
	s.sia_signed = CA_REPO "x.roa";
	bad = issue(&s);
	assert_int_equal(verify(bad, ch.ca), X509_V_ERR_UNNESTED_RESOURCE);
	X509_free(bad);
	ca_res_free(over);
}

static void
expect_issue_fail(struct ca_cert_spec *s, const char *want)
{
	struct cm_err	 err;
	X509		*x = NULL;

	memset(&err, 0, sizeof(err));
	if (ca_cert_issue(s, &x, &err) == 0) {
		X509_free(x);
		fail_msg("issued a certificate that should fail with \"%s\"",
		    want);
	}
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg,
		    want);
	assert_null(x);
}

static void
test_issue_errors(void **state)
{
	struct ca_cert_spec	 s;
	struct ca_res		*empty = ca_res_new();
	EVP_PKEY		*small = EVP_RSA_gen(1024);

	spec_ta(&s);
	s.crldp = TA_CRL;
	expect_issue_fail(&s, "a TA has no CRLDP");
	spec_ta(&s);
	s.aia = TA_URI;
	expect_issue_fail(&s, "a TA has no AIA");
	spec_ta(&s);
	s.res = ch.inherit;
	expect_issue_fail(&s, "TA resources must not inherit");
	spec_ta(&s);
	s.issuer_key = ch.cakey;
	expect_issue_fail(&s, "signed by its own key");
	spec_ta(&s);
	s.cn = "bad_cn";
	expect_issue_fail(&s, "PrintableString");
	spec_ta(&s);
	s.res = empty;
	expect_issue_fail(&s, "no IP or AS resources");
	spec_ca(&s);
	s.sia_mft = "rsync://rpki.test/repo/other/ca.mft";
	expect_issue_fail(&s, "rpkiManifest must be a file in the "
	    "caRepository");
	spec_ca(&s);
	s.sia_repo = "rsync://rpki.test/repo/ca";
	expect_issue_fail(&s, "ending in /");
	spec_ca(&s);
	s.sia_notify = "http://rpki.test/n.xml";
	expect_issue_fail(&s, "rpkiNotify must be an https URI");
	spec_ca(&s);
	s.crldp = "https://rpki.test/ta.crl";
	expect_issue_fail(&s, "CRLDP must be an rsync URI");
	spec_ca(&s);
	s.sia_signed = CA_REPO "x.roa";
	expect_issue_fail(&s, "no signedObject in a CA");
	spec_ca(&s);
	s.issuer_key = ch.cakey;
	expect_issue_fail(&s, "issuer key does not match");
	spec_ca(&s);
	s.not_after = ch.now + 3651 * DAY;
	expect_issue_fail(&s, "after the issuer's notAfter");
	spec_ca(&s);
	s.not_after = s.not_before;
	expect_issue_fail(&s, "notAfter must be after notBefore");
	spec_ca(&s);
	s.subject_key = small;
	expect_issue_fail(&s, "RSA-2048");
	spec_ca(&s);
	s.serial_len = 20;
	s.serial[0] = 0x80;
	expect_issue_fail(&s, "at most 20 octets");
	spec_ee(&s);
	s.sia_signed = NULL;
	expect_issue_fail(&s, "EE SIA is one rsync signedObject URI");
	spec_ee(&s);
	s.sia_notify = NOTIFY;
	expect_issue_fail(&s, "EE SIA is one rsync signedObject URI");
	spec_router(&s);
	s.subject_key = hsm_key_pubkey(ch.eekey);
	expect_issue_fail(&s, "router key must be ECDSA P-256");
	spec_router(&s);
	s.res = ch.mine;
	expect_issue_fail(&s, "router resources are explicit AS numbers only");
	spec_router(&s);
	s.res = ch.inherit;
	expect_issue_fail(&s, "router resources are explicit AS numbers only");
	spec_router(&s);
	s.sia_signed = CA_REPO "x.roa";
	expect_issue_fail(&s, "a router certificate has no SIA");
	spec_router(&s);
	s.crldp = NULL;
	expect_issue_fail(&s, "CRLDP must be an rsync URI");
	spec_ee(&s);
	s.subject_key = ch.rkey;
	expect_issue_fail(&s, "RSA-2048");
	EVP_PKEY_free(small);
	ca_res_free(empty);
}

/*
 * Strictness rules.  mutate() copies a good certificate of the given kind,
 * lets fn change it, re-signs it with the issuer key through OpenSSL
 * (unless fn returned 1: it signed itself) and requires ca_cert_parse() to
 * fail with a message containing want.
 */
typedef int (*mutator)(X509 *);

static EVP_PKEY *
signer_of(X509 *x)
{
	if (x == ch.ta || x == ch.ca)
		return hsm_key_pubkey(x == ch.ta ? ch.takey : ch.takey);
	return hsm_key_pubkey(ch.cakey);
}

static void
expect_reject(const uint8_t *der, size_t len, const char *want)
{
	struct ca_cert	*c = NULL;
	struct cm_err	 err;

	memset(&err, 0, sizeof(err));
	if (ca_cert_parse("bad.cer", der, len, &c, &err) == 0) {
		ca_cert_free(c);
		fail_msg("accepted a certificate that should fail with "
		    "\"%s\"", want);
	}
	assert_int_equal(err.code, CM_EINVAL);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg,
		    want);
	assert_null(c);
}

static void
mutate(X509 *good, mutator fn, const char *want)
{
	X509		*x = X509_dup(good);
	struct ca_cert	*c;
	uint8_t		*der;
	size_t		 len;

	assert_non_null(x);
	if (fn(x) == 0)
		assert_true(X509_sign(x, signer_of(good), EVP_sha256()) > 0);
	der = cert_der(x, &len);
	expect_reject(der, len, want);
	OPENSSL_free(der);
	X509_free(x);
	/* Control: the same certificate re-signed by OpenSSL is accepted. */
	x = X509_dup(good);
	assert_true(X509_sign(x, signer_of(good), EVP_sha256()) > 0);
	c = parse_ok(x, "control.cer");
	ca_cert_free(c);
	X509_free(x);
}

/* Replaces (or adds) extension nid with value, criticality crit. */
static void
set_ext(X509 *x, int nid, void *value, int crit)
{
	int	i = X509_get_ext_by_NID(x, nid, -1);

	if (i >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_int_equal(X509_add1_ext_i2d(x, nid, value, crit,
	    X509V3_ADD_APPEND), 1);
}

static void
del_ext(X509 *x, int nid)
{
	int	i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
}

static void
set_crit(X509 *x, int nid, int crit)
{
	int	i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	X509_EXTENSION_set_critical(X509_get_ext(x, i), crit);
}

static int
m_v1(X509 *x)
{
	return !X509_set_version(x, 0);
}

static int
m_sha384(X509 *x)
{
	assert_true(X509_sign(x, hsm_key_pubkey(ch.takey), EVP_sha384()) > 0);
	return 1;
}

static int
m_absent_params(X509 *x)
{
	const X509_ALGOR	*alg;

	assert_true(X509_sign(x, hsm_key_pubkey(ch.takey), EVP_sha256()) > 0);
	X509_get0_signature(NULL, &alg, x);
	assert_true(X509_ALGOR_set0((X509_ALGOR *)alg,
	    OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_UNDEF, NULL));
	return 1;
}

static int
m_zero_serial(X509 *x)
{
	return !ASN1_INTEGER_set(X509_get_serialNumber(x), 0);
}

static int
m_negative_serial(X509 *x)
{
	return !ASN1_INTEGER_set(X509_get_serialNumber(x), -7);
}

static int
m_long_serial(X509 *x)
{
	uint8_t	 b[20] = { 0x80 };
	BIGNUM	*bn = BN_bin2bn(b, 20, NULL);
	int	 ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

	BN_free(bn);
	return !ok;
}

static int
m_subject_o(X509 *x)
{
	X509_NAME	*n = X509_NAME_dup(X509_get_subject_name(x));
	int		 ok;

	ok = X509_NAME_add_entry_by_NID(n, NID_organizationName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"Org", -1, -1, 0) &&
	    X509_set_subject_name(x, n);
	X509_NAME_free(n);
	return !ok;
}

static int
m_issuer_utf8(X509 *x)
{
	X509_NAME	*n = X509_NAME_new();
	int		 ok;

	ok = X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"Cairn Test TA", -1, -1, 0) &&
	    X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	return !ok;
}

static int
m_gentime_early(X509 *x)
{
	ASN1_GENERALIZEDTIME	*t = ASN1_GENERALIZEDTIME_set(NULL,
	    ch.now + 30 * DAY);
	int			 ok = X509_set1_notAfter(x, t);

	ASN1_GENERALIZEDTIME_free(t);
	return !ok;
}

static int
m_backwards(X509 *x)
{
	return !X509_set1_notAfter(x, X509_get0_notBefore(x));
}

static int set_key(X509 *, EVP_PKEY *);

static int
m_key_1024(X509 *x)
{
	return set_key(x, EVP_RSA_gen(1024));
}

/* Replaces the key and the SKI with one that matches it. */
static int
set_key(X509 *x, EVP_PKEY *k)
{
	ASN1_OCTET_STRING	*ski = ASN1_OCTET_STRING_new();
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;

	assert_non_null(k);
	assert_true(X509_set_pubkey(x, k) &&
	    X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) &&
	    ASN1_OCTET_STRING_set(ski, md, (int)mdlen));
	set_ext(x, NID_subject_key_identifier, ski, 0);
	ASN1_OCTET_STRING_free(ski);
	EVP_PKEY_free(k);
	return 0;
}

static int
m_key_ec(X509 *x)
{
	return set_key(x, EVP_EC_gen("P-256"));
}

static int
m_key_p384(X509 *x)
{
	return set_key(x, EVP_EC_gen("P-384"));
}

static int
m_eku_crit(X509 *x)
{
	set_crit(x, NID_ext_key_usage, 1);
	return 0;
}

static int
m_eku_other(X509 *x)
{
	EXTENDED_KEY_USAGE	*eku = sk_ASN1_OBJECT_new_null();

	assert_true(sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)));
	set_ext(x, NID_ext_key_usage, eku, 0);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return 0;
}

static int
m_router_sia(X509 *x)
{
	AUTHORITY_INFO_ACCESS	*ia = X509_get_ext_d2i(ch.ee, NID_sinfo_access,
	    NULL, NULL);

	set_ext(x, NID_sinfo_access, ia, 0);
	AUTHORITY_INFO_ACCESS_free(ia);
	return 0;
}

static int
m_router_ip(X509 *x)
{
	IPAddrBlocks	*ip = X509_get_ext_d2i(ch.ca, NID_sbgp_ipAddrBlock,
	    NULL, NULL);

	set_ext(x, NID_sbgp_ipAddrBlock, ip, 1);
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	return 0;
}

static int set_ku(X509 *, int, int);

static int
m_router_certsign(X509 *x)
{
	return set_ku(x, 0, 5);
}

static int
m_unknown_ext(X509 *x)
{
	GENERAL_NAMES	*san = GENERAL_NAMES_new();
	GENERAL_NAME	*gn = GENERAL_NAME_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

	assert_true(ASN1_STRING_set(s, "rpki.test", -1));
	GENERAL_NAME_set0_value(gn, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(san, gn));
	set_ext(x, NID_subject_alt_name, san, 0);
	GENERAL_NAMES_free(san);
	return 0;
}

static int
m_eku(X509 *x)
{
	EXTENDED_KEY_USAGE	*eku = sk_ASN1_OBJECT_new_null();

	assert_true(sk_ASN1_OBJECT_push(eku,
	    OBJ_txt2obj("1.3.6.1.5.5.7.3.30", 1)));
	set_ext(x, NID_ext_key_usage, eku, 0);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return 0;
}

static int
m_dup_ski(X509 *x)
{
	X509_EXTENSION	*e = X509_EXTENSION_dup(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_subject_key_identifier, -1)));

	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	return 0;
}

static int
m_ku_noncrit(X509 *x)
{
	set_crit(x, NID_key_usage, 0);
	return 0;
}

static int
m_ski_crit(X509 *x)
{
	set_crit(x, NID_subject_key_identifier, 1);
	return 0;
}

static int
m_ip_noncrit(X509 *x)
{
	set_crit(x, NID_sbgp_ipAddrBlock, 0);
	return 0;
}

static int
m_pathlen(X509 *x)
{
	BASIC_CONSTRAINTS	*bc = BASIC_CONSTRAINTS_new();

	bc->ca = 0xff;
	bc->pathlen = ASN1_INTEGER_new();
	assert_true(ASN1_INTEGER_set(bc->pathlen, 0));
	set_ext(x, NID_basic_constraints, bc, 1);
	BASIC_CONSTRAINTS_free(bc);
	return 0;
}

static int
m_bc_false(X509 *x)
{
	BASIC_CONSTRAINTS	*bc = BASIC_CONSTRAINTS_new();

	set_ext(x, NID_basic_constraints, bc, 1);
	BASIC_CONSTRAINTS_free(bc);
	return 0;
}

static int
m_bad_ski(X509 *x)
{
	ASN1_OCTET_STRING	*ski = ASN1_OCTET_STRING_new();

	assert_true(ASN1_OCTET_STRING_set(ski, (const unsigned char *)
	    "01234567890123456789", 20));
	set_ext(x, NID_subject_key_identifier, ski, 0);
	ASN1_OCTET_STRING_free(ski);
	return 0;
}

static int
m_aki_serial(X509 *x)
{
	AUTHORITY_KEYID	*aki = X509_get_ext_d2i(x,
	    NID_authority_key_identifier, NULL, NULL);

	aki->serial = ASN1_INTEGER_new();
	assert_true(ASN1_INTEGER_set(aki->serial, 1));
	set_ext(x, NID_authority_key_identifier, aki, 0);
	AUTHORITY_KEYID_free(aki);
	return 0;
}

/* A CA without AKI looks like a TA, whose issuer must be itself. */
static int
m_no_aki(X509 *x)
{
	del_ext(x, NID_authority_key_identifier);
	return 0;
}

/* An EE without AKI. */
static int
m_ee_no_aki(X509 *x)
{
	del_ext(x, NID_authority_key_identifier);
	return 0;
}

static int
set_ku(X509 *x, int bit1, int bit2)
{
	ASN1_BIT_STRING	*ku = ASN1_BIT_STRING_new();

	assert_true(ASN1_BIT_STRING_set_bit(ku, bit1, 1));
	if (bit2 >= 0)
		assert_true(ASN1_BIT_STRING_set_bit(ku, bit2, 1));
	set_ext(x, NID_key_usage, ku, 1);
	ASN1_BIT_STRING_free(ku);
	return 0;
}

static int
m_ca_ku_digsig(X509 *x)
{
	return set_ku(x, 5, 0);
}

static int
m_ee_ku_certsign(X509 *x)
{
	return set_ku(x, 0, 5);
}

static int
crldp_with(X509 *x, const char *uri, int reasons)
{
	CRL_DIST_POINTS	*dps = X509_get_ext_d2i(x,
	    NID_crl_distribution_points, NULL, NULL);
	DIST_POINT	*dp = sk_DIST_POINT_value(dps, 0);
	GENERAL_NAME	*gn = sk_GENERAL_NAME_value(dp->distpoint->
	    name.fullname, 0);

	assert_true(ASN1_STRING_set(gn->d.uniformResourceIdentifier, uri,
	    -1));
	if (reasons) {
		dp->reasons = ASN1_BIT_STRING_new();
		assert_true(ASN1_BIT_STRING_set_bit(dp->reasons, 1, 1));
	}
	set_ext(x, NID_crl_distribution_points, dps, 0);
	CRL_DIST_POINTS_free(dps);
	return 0;
}

static int
m_crldp_https(X509 *x)
{
	return crldp_with(x, "https://rpki.test/ta.crl", 0);
}

static int
m_crldp_reasons(X509 *x)
{
	return crldp_with(x, TA_CRL, 1);
}

static int
m_ta_crldp(X509 *x)
{
	CRL_DIST_POINTS	*dps = X509_get_ext_d2i(ch.ca,
	    NID_crl_distribution_points, NULL, NULL);

	set_ext(x, NID_crl_distribution_points, dps, 0);
	CRL_DIST_POINTS_free(dps);
	return 0;
}

static int
m_ta_aia(X509 *x)
{
	AUTHORITY_INFO_ACCESS	*ia = X509_get_ext_d2i(ch.ca, NID_info_access,
	    NULL, NULL);

	set_ext(x, NID_info_access, ia, 0);
	AUTHORITY_INFO_ACCESS_free(ia);
	return 0;
}

static int
m_no_aia(X509 *x)
{
	del_ext(x, NID_info_access);
	return 0;
}

static int
m_aia_ocsp(X509 *x)
{
	AUTHORITY_INFO_ACCESS	*ia = X509_get_ext_d2i(x, NID_info_access,
	    NULL, NULL);
	ACCESS_DESCRIPTION	*ad = sk_ACCESS_DESCRIPTION_value(ia, 0);

	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	set_ext(x, NID_info_access, ia, 0);
	AUTHORITY_INFO_ACCESS_free(ia);
	return 0;
}

/* Sets SIA entry i (of x's SIA) to uri, optionally with a new method. */
static int
sia_with(X509 *x, int i, const char *method, const char *uri)
{
	AUTHORITY_INFO_ACCESS	*ia = X509_get_ext_d2i(x, NID_sinfo_access,
	    NULL, NULL);
	ACCESS_DESCRIPTION	*ad = sk_ACCESS_DESCRIPTION_value(ia, i);

	if (method != NULL) {
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_txt2obj(method, 1);
	}
	if (uri != NULL)
		assert_true(ASN1_STRING_set(
		    ad->location->d.uniformResourceIdentifier, uri, -1));
	set_ext(x, NID_sinfo_access, ia, 0);
	AUTHORITY_INFO_ACCESS_free(ia);
	return 0;
}

static int
m_sia_mft_outside(X509 *x)
{
	return sia_with(x, 1, NULL, "rsync://rpki.test/repo/other/ca.mft");
}

static int
m_sia_notify_http(X509 *x)
{
	return sia_with(x, 2, NULL, "http://rpki.test/n.xml");
}

static int
m_sia_two_repos(X509 *x)
{
	return sia_with(x, 1, CA_OID_AD_CA_REPOSITORY, CA_REPO);
}

static int
m_sia_ca_signed(X509 *x)
{
	return sia_with(x, 2, CA_OID_AD_SIGNED_OBJECT, CA_REPO "x.roa");
}

static int
m_ee_notify(X509 *x)
{
	return sia_with(x, 0, CA_OID_AD_RPKI_NOTIFY, NOTIFY);
}

static int
m_no_sia(X509 *x)
{
	del_ext(x, NID_sinfo_access);
	return 0;
}

static int
policy_with(X509 *x, const char *oid, const char *qual)
{
	CERTIFICATEPOLICIES	*cp = CERTIFICATEPOLICIES_new();
	POLICYINFO		*pi = POLICYINFO_new();
	POLICYQUALINFO		*q;

	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = OBJ_txt2obj(oid, 1);
	if (qual != NULL) {
		q = POLICYQUALINFO_new();
		q->pqualid = OBJ_txt2obj(qual, 1);
		if (OBJ_obj2nid(q->pqualid) == NID_id_qt_unotice) {
			q->d.usernotice = USERNOTICE_new();
			q->d.usernotice->exptext = ASN1_UTF8STRING_new();
			assert_true(ASN1_STRING_set(
			    q->d.usernotice->exptext, "notice", -1));
		} else {
			q->d.cpsuri = ASN1_IA5STRING_new();
			assert_true(ASN1_STRING_set(q->d.cpsuri,
			    "https://rpki.test/cps", -1));
		}
		pi->qualifiers = sk_POLICYQUALINFO_new_null();
		assert_true(sk_POLICYQUALINFO_push(pi->qualifiers, q));
	}
	assert_true(sk_POLICYINFO_push(cp, pi));
	set_ext(x, NID_certificate_policies, cp, 1);
	CERTIFICATEPOLICIES_free(cp);
	return 0;
}

static int
m_policy_other(X509 *x)
{
	return policy_with(x, "2.5.29.32.0", NULL);
}

static int
m_policy_unotice(X509 *x)
{
	/* RFC 7318 allows id-qt-cps only, not a user notice. */
	return policy_with(x, CA_OID_CP_IPADDR_ASNUMBER, "1.3.6.1.5.5.7.2.2");
}

static int
m_ta_inherit(X509 *x)
{
	ASIdentifiers	*as = ASIdentifiers_new();

	assert_true(X509v3_asid_add_inherit(as, V3_ASID_ASNUM));
	set_ext(x, NID_sbgp_autonomousSysNum, as, 1);
	ASIdentifiers_free(as);
	return 0;
}

static int
m_no_resources(X509 *x)
{
	del_ext(x, NID_sbgp_ipAddrBlock);
	del_ext(x, NID_sbgp_autonomousSysNum);
	return 0;
}

/* A TA signed by another key. */
static int
m_ta_badsig(X509 *x)
{
	assert_true(X509_sign(x, hsm_key_pubkey(ch.cakey), EVP_sha256()) > 0);
	return 1;
}

static void
test_strict_rules(void **state)
{
	mutate(ch.ca, m_v1, "version must be v3");
	mutate(ch.ca, m_sha384, "is not sha256WithRSAEncryption");
	mutate(ch.ca, m_absent_params, "parameters must be NULL");
	mutate(ch.ca, m_zero_serial, "serial must be positive");
	mutate(ch.ca, m_negative_serial, "serial must be positive");
	mutate(ch.ca, m_long_serial, "at most 20 octets");
	mutate(ch.ca, m_subject_o, "other than commonName");
	mutate(ch.ca, m_issuer_utf8, "not a PrintableString");
	mutate(ch.ca, m_gentime_early, "before 2050 must be UTCTime");
	mutate(ch.ca, m_backwards, "notAfter is not after notBefore");
	mutate(ch.ca, m_key_1024, "not RSA-2048");
	mutate(ch.ca, m_key_ec, "only router certificates may have an ECDSA");
	mutate(ch.ee, m_key_ec, "only router certificates may have an ECDSA");
	mutate(ch.router, m_key_p384, "not rsaEncryption");
	mutate(ch.ca, m_unknown_ext, "extension 2.5.29.17 is not allowed");
	mutate(ch.ee, m_eku, "router key must be ECDSA P-256");
	mutate(ch.ca, m_eku, "extendedKeyUsage in a CA certificate");
	mutate(ch.router, m_eku_crit, "extendedKeyUsage must not be critical");
	mutate(ch.router, m_eku_other, "exactly id-kp-bgpsec-router");
	mutate(ch.router, m_router_sia, "a router certificate has no SIA");
	mutate(ch.router, m_router_ip, "explicit AS numbers only");
	mutate(ch.router, m_router_certsign, "exactly digitalSignature");
	mutate(ch.ca, m_dup_ski, "duplicate subjectKeyIdentifier");
	mutate(ch.ca, m_ku_noncrit, "keyUsage must be critical");
	mutate(ch.ca, m_ski_crit, "subjectKeyIdentifier must not be critical");
	mutate(ch.ca, m_ip_noncrit, "sbgp-ipAddrBlock must be critical");
	mutate(ch.ca, m_pathlen, "cA TRUE without pathLen");
	mutate(ch.ca, m_bc_false, "cA TRUE without pathLen");
	mutate(ch.ca, m_bad_ski, "not the SHA-1 of the subject key");
	mutate(ch.ca, m_aki_serial, "keyIdentifier only");
	mutate(ch.ca, m_no_aki, "issuer must equal its subject");
	mutate(ch.ee, m_ee_no_aki, "AKI is required");
	mutate(ch.ca, m_ca_ku_digsig, "keyCertSign and cRLSign");
	mutate(ch.ee, m_ee_ku_certsign, "exactly digitalSignature");
	mutate(ch.ca, m_crldp_https, "CRLDP is not an rsync URI");
	mutate(ch.ca, m_crldp_reasons, "one DistributionPoint");
	mutate(ch.ta, m_ta_crldp, "a TA must not have a CRLDP");
	mutate(ch.ta, m_ta_aia, "a TA must not have an AIA");
	mutate(ch.ca, m_no_aia, "AIA is required");
	mutate(ch.ca, m_aia_ocsp, "one caIssuers rsync URI");
	mutate(ch.ca, m_sia_mft_outside, "an rpkiManifest in it");
	mutate(ch.ca, m_sia_notify_http, "rpkiNotify must be a https://");
	mutate(ch.ca, m_sia_two_repos, "more than one caRepository");
	mutate(ch.ca, m_sia_ca_signed, "not allowed in the SIA of a CA");
	mutate(ch.ee, m_ee_notify, "not allowed in the SIA of an EE");
	mutate(ch.ee, m_no_sia, "SIA is required");
	mutate(ch.ca, m_policy_other, "id-cp-ipAddr-asNumber");
	mutate(ch.ca, m_policy_unotice, "RFC 7318");
	mutate(ch.ta, m_ta_inherit, "TA resources must not inherit");
	mutate(ch.ca, m_no_resources, "neither IP nor AS");
	mutate(ch.ta, m_ta_badsig, "TA self-signature does not verify");
}

/* RFC 8209 BGPsec router certificate under the CA. */
static void
test_router(void **state)
{
	struct ca_cert		*c = parse_ok(ch.router, "router.cer");
	struct ca_cert		*ca = parse_ok(ch.ca, "ca.cer");
	EXTENDED_KEY_USAGE	*eku;
	int			 crit;

	assert_int_equal(c->kind, CA_CERT_ROUTER);
	assert_memory_equal(c->aki, ca->ski, 20);
	assert_string_equal(c->crldp, CA_CRL);
	assert_string_equal(c->aia, CA_URI);
	assert_null(c->sia_signed);
	assert_null(c->sia_repo);
	assert_true(ca_res_equal(c->res, ch.as));
	assert_int_equal(X509_get_ext_by_NID(ch.router, NID_sinfo_access,
	    -1), -1);
	assert_int_equal(X509_get_ext_by_NID(ch.router, NID_sbgp_ipAddrBlock,
	    -1), -1);
	assert_int_equal(X509_get_key_usage(ch.router), KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(ch.router, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_true(ca_asn1_oid_is(sk_ASN1_OBJECT_value(eku, 0),
	    "1.3.6.1.5.5.7.3.30"));
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(ch.router), "EC"));
	assert_int_equal(verify(ch.router, ch.ca), X509_V_OK);
	ca_cert_free(c);
	ca_cert_free(ca);
}

/* Accepted variants: a TA AKI equal to its SKI, one CPS qualifier. */
static void
test_accepted_variants(void **state)
{
	X509		*x = X509_dup(ch.ta);
	AUTHORITY_KEYID	*aki = AUTHORITY_KEYID_new();
	struct ca_cert	*c;

	aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ch.ta));
	set_ext(x, NID_authority_key_identifier, aki, 0);
	AUTHORITY_KEYID_free(aki);
	assert_true(X509_sign(x, hsm_key_pubkey(ch.takey), EVP_sha256()) > 0);
	c = parse_ok(x, "ta-aki.cer");
	assert_int_equal(c->kind, CA_CERT_TA);
	assert_true(c->has_aki);
	ca_cert_free(c);
	X509_free(x);

	x = X509_dup(ch.ca);
	policy_with(x, CA_OID_CP_IPADDR_ASNUMBER, CA_OID_QT_CPS);
	assert_true(X509_sign(x, hsm_key_pubkey(ch.takey), EVP_sha256()) > 0);
	c = parse_ok(x, "cps.cer");
	ca_cert_free(c);
	X509_free(x);
}

/* Encoding rules: trailing bytes, truncation, BER where DER is required. */
static void
test_encoding(void **state)
{
	uint8_t	*der, *buf;
	size_t	 len, sig;
	unsigned outer;

	der = cert_der(ch.ca, &len);
	buf = malloc(len + 1);
	memcpy(buf, der, len);
	buf[len] = 0;
	expect_reject(buf, len + 1, "trailing");
	expect_reject(der, len - 1, "failed to parse");
	expect_reject(der, 0, "out of range");
	/* The signature BIT STRING with a non-minimal length: BER. */
	sig = len - 261;
	assert_memory_equal(der + sig, "\x03\x82\x01\x01\x00", 5);
	memcpy(buf, der, sig);
	memcpy(buf + sig, "\x03\x83\x00\x01\x01", 5);
	memcpy(buf + sig + 5, der + sig + 4, len - sig - 4);
	outer = ((unsigned)der[2] << 8 | der[3]) + 1;
	buf[2] = (uint8_t)(outer >> 8);
	buf[3] = (uint8_t)outer;
	expect_reject(buf, len + 1, "not DER");
	free(buf);
	OPENSSL_free(der);
}

/*
 * rpki-client as the judge: the TA (through a TAL), its CRL from
 * ca_crl_issue() and the CA certificate must give "Validation: OK" in
 * file mode with nothing on stderr; once the CRL lists the CA's serial,
 * the CA must fail as revoked.
 */
static void
rp_write(const char *dir, const char *name, const void *d, size_t n)
{
	char		path[512];
	struct cm_err	err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(cm_file_write_atomic(path, d, n, 0644, &err), 0);
}

/* want: the "Validation: " line expected from rpki-client. */
static void
rp_check(const char *dir, const char *file, const char *want)
{
	char		cmd[1024], out[256];
	FILE		*p;
	int		ok = 0;
	struct stat	st;

	snprintf(cmd, sizeof(cmd), "cd %s && timeout 120 rpki-client -t "
	    "test.tal -d %s/cache -f cache/rpki.test/repo/%s 2>%s/err",
	    dir, dir, file, dir);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(out, sizeof(out), p) != NULL)
		ok |= strncmp(out, want, strlen(want)) == 0;
	assert_int_equal(pclose(p), 0);
	if (!ok)
		fail_msg("rpki-client: no \"%s\" for %s", want, file);
	snprintf(cmd, sizeof(cmd), "%s/err", dir);
	assert_int_equal(stat(cmd, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void
rp_crl(const char *dir, const char *name, const struct ca_crl_spec *cs)
{
	X509_CRL	*crl;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	int		 n;

	if (ca_crl_issue(cs, &crl, &err) != 0)
		fail_msg("%s", err.msg);
	n = i2d_X509_CRL(crl, &der);
	rp_write(dir, name, der, (size_t)n);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

static void
test_rpki_client(void **state)
{
	char			 dir[] = "/tmp/cairn-cert-XXXXXX", cmd[256];
	struct ca_crl_spec	 cs = { ch.ta, ch.takey, 1, ch.now - 60,
	    ch.now + DAY, NULL, 0 };
	struct ca_crl_spec	 ccs = { ch.ca, ch.cakey, 1, ch.now - 60,
	    ch.now + DAY, NULL, 0 };
	struct ca_crl_entry	 ent;
	struct cm_buf		 b = CM_BUF_INIT;
	BIGNUM			*bn = BN_new();
	uint8_t			*der = NULL;
	int			 n;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/cache/rpki.test/repo/ta "
	    "%s/cache/rpki.test/repo/ca %s/cache/ta/test", dir, dir, dir);
	assert_int_equal(system(cmd), 0);

	n = i2d_PUBKEY(X509_get0_pubkey(ch.ta), &der);
	cm_buf_puts(&b, TA_URI "\n\n");
	cm_b64_encode(der, (size_t)n, &b);
	cm_buf_puts(&b, "\n");
	rp_write(dir, "test.tal", b.data, b.len);
	cm_buf_free(&b);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509(ch.ta, &der);
	rp_write(dir, "cache/rpki.test/repo/ta.cer", der, (size_t)n);
	rp_write(dir, "cache/ta/test/ta.cer", der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	rp_crl(dir, "cache/rpki.test/repo/ta/ta.crl", &cs);
	n = i2d_X509(ch.ca, &der);
	rp_write(dir, "cache/rpki.test/repo/ta/ca.cer", der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;

	rp_check(dir, "ta.cer", "Validation: OK");
	rp_check(dir, "ta/ca.cer", "Validation: OK");
	/* The router certificate, under the CA with the CA's CRL. */
	rp_crl(dir, "cache/rpki.test/repo/ca/ca.crl", &ccs);
	n = i2d_X509(ch.router, &der);
	rp_write(dir, "cache/rpki.test/repo/ca/router.cer", der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	rp_check(dir, "ca/router.cer", "Validation: OK");
	/* Revoked: the same CA certificate on the next CRL. */
	ent.serial_len = (size_t)BN_bn2bin(ASN1_INTEGER_to_BN(
	    X509_get0_serialNumber(ch.ca), bn), ent.serial);
	ent.revoked = ch.now - 30;
	cs.number = 2;
	cs.entries = &ent;
	cs.nentries = 1;
	rp_crl(dir, "cache/rpki.test/repo/ta/ta.crl", &cs);
	rp_check(dir, "ta/ca.cer", "Validation: Failed, certificate revoked");
	BN_free(bn);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static int
chain_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_parse),
		cmocka_unit_test(test_chain_verify),
		cmocka_unit_test(test_issue_errors),
		cmocka_unit_test(test_strict_rules),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_accepted_variants),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_rpki_client),
	};

	return cmocka_run_group_tests_name("chain", tests, chain_setup,
	    chain_teardown);
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

	return cmocka_run_group_tests(tests, setup, teardown) +
	    chain_tests();
}
