/*
 * ca_sigobj: one-call issuance of ROAs, manifests and ASPAs: the EE cert
 * profile (RFC 6487 extensions, exact set and criticality, resources per
 * object type), the CA signature through the signer interface, and that
 * the result passes the strict parsers.
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
#include <unistd.h>

#include <openssl/bio.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/sigobj.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "ca_objtest.h"
#include "ca_rpjudge.h"

#define T0	1795000000

struct fx {
	struct hsm	*hsm;
	struct hsm_key	*cakey;
	X509		*ca;
	EVP_PKEY	*ee;
};

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;

	f->hsm = hsm_open_mem();
	if (hsm_key_create(f->hsm, "ca", &f->cakey, &err) != 0)
		return -1;
	f->ca = rpjudge_issuer_ta(f->cakey, T0);
	f->ee = objtest_key();
	*state = f;
	return f->ca == NULL || f->ee == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->ca);
	EVP_PKEY_free(f->ee);
	hsm_key_free(f->cakey);
	hsm_close(f->hsm);
	free(f);
	return 0;
}

static void
spec(struct fx *f, struct ca_sigobj_spec *s, const char *uri)
{
	memset(s, 0, sizeof(*s));
	s->issuer = f->ca;
	s->issuer_key = f->cakey;
	s->ee_key = f->ee;
	ca_sigobj_set_serial(s, 0x1234567890ULL);
	s->not_before = T0;
	s->not_after = T0 + 30 * 86400;
	s->signing_time = T0 + 5;
	s->object_uri = uri;
	s->crl_uri = "rsync://rpki.test/repo/ca/ca.crl";
	s->issuer_uri = "rsync://rpki.test/repo/ta.cer";
}

/* The RFC 6487 EE profile common to all objects. */
static void
check_ee(struct fx *f, X509 *ee, const char *uri, int nexts)
{
	static const int crit[] = { NID_key_usage, NID_certificate_policies,
	    NID_sbgp_ipAddrBlock, NID_sbgp_autonomousSysNum };
	AUTHORITY_INFO_ACCESS	*sia;
	ACCESS_DESCRIPTION	*ad;
	char			 cn[64], id[HSM_KEY_ID_LEN + 1];

	assert_int_equal(X509_verify(ee, hsm_key_pubkey(f->cakey)), 1);
	assert_int_equal(X509_get_version(ee), 2);
	assert_int_equal(X509_get_ext_count(ee), nexts);
	for (int i = 0; i < X509_get_ext_count(ee); i++) {
		X509_EXTENSION	*e = X509_get_ext(ee, i);
		int		 nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		int		 want = 0;

		for (size_t j = 0; j < 4; j++)
			want |= crit[j] == nid;
		assert_int_equal(X509_EXTENSION_get_critical(e), want);
	}
	assert_int_equal(X509_get_extension_flags(ee) & EXFLAG_CA, 0);
	assert_int_equal(X509_get_key_usage(ee), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(ee),
	    X509_get_subject_name(f->ca)), 0);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(ee)), 1);
	X509_NAME_get_text_by_NID(X509_get_subject_name(ee), NID_commonName,
	    cn, sizeof(cn));
	assert_int_equal(hsm_pubkey_id(f->ee, id, NULL), 0);
	assert_string_equal(cn, id);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(ee),
	    X509_get0_subject_key_id(f->ca)), 0);
	sia = X509_get_ext_d2i(ee, NID_sinfo_access, NULL, NULL);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(sia), 1);
	ad = sk_ACCESS_DESCRIPTION_value(sia, 0);
	assert_true(ca_asn1_oid_is(ad->method, "1.3.6.1.5.5.7.48.11"));
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    ad->location->d.uniformResourceIdentifier), uri);
	AUTHORITY_INFO_ACCESS_free(sia);
}

static void
test_roa(void **state)
{
	struct fx		*f = *state;
	struct ca_sigobj_spec	 s;
	struct ca_roa_prefix	 p[2];
	struct ca_roa		 roa = { 64496, p, 2 }, *back;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	X509			*ee;
	IPAddrBlocks		*ip;

	assert_int_equal(ca_roa_prefix_parse("192.0.2.0/24", &p[0], &err), 0);
	assert_int_equal(ca_roa_prefix_parse("2001:db8::/32-48", &p[1], &err),
	    0);
	spec(f, &s, "rsync://rpki.test/repo/ca/as64496.roa");
	assert_int_equal(ca_sigobj_roa(&s, &roa, &der, &len, &ee, &err), 0);
	check_ee(f, ee, s.object_uri, 8);
	assert_int_equal(X509_get_ext_by_NID(ee, NID_sbgp_autonomousSysNum,
	    -1), -1);
	ip = X509_get_ext_d2i(ee, NID_sbgp_ipAddrBlock, NULL, NULL);
	assert_int_equal(sk_IPAddressFamily_num(ip), 2);
	assert_false(X509v3_addr_inherits(ip));
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	assert_int_equal(ca_roa_parse("x.roa", der, len, &back, NULL, &err), 0);
	assert_int_equal(back->nprefixes, 2);
	ca_roa_free(back);
	X509_free(ee);
	free(der);
}

/* Overlapping prefixes (a /16 and a /17 in it) make one valid ROA. */
static void
test_roa_overlap(void **state)
{
	struct fx		*f = *state;
	struct ca_sigobj_spec	 s;
	struct ca_roa_prefix	 p[3];
	struct ca_roa		 roa = { 64496, p, 3 }, *back;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	assert_int_equal(ca_roa_prefix_parse("10.1.0.0/16-24", &p[0], &err), 0);
	assert_int_equal(ca_roa_prefix_parse("10.1.128.0/17", &p[1], &err), 0);
	assert_int_equal(ca_roa_prefix_parse("10.1.0.0/16", &p[2], &err), 0);
	spec(f, &s, "rsync://rpki.test/repo/ca/overlap.roa");
	if (ca_sigobj_roa(&s, &roa, &der, &len, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_roa_parse("overlap.roa", der, len, &back, NULL,
	    &err), 0);
	assert_int_equal(back->nprefixes, 3);
	ca_roa_free(back);
	free(der);
}

static void
test_mft(void **state)
{
	struct fx		*f = *state;
	struct ca_sigobj_spec	 s;
	struct ca_mft_file	 file = { "ca.crl", { 1, 2, 3 } };
	struct ca_mft		 m = { { 9 }, 1, T0, T0 + 172800, &file, 1 };
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	X509			*ee;
	time_t			 t;

	spec(f, &s, "rsync://rpki.test/repo/ca/ca.mft");
	assert_int_equal(ca_sigobj_mft(&s, &m, &der, &len, &ee, &err), 0);
	check_ee(f, ee, s.object_uri, 9);
	assert_int_equal(ca_asn1_time_get(X509_get0_notBefore(ee), &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(ca_asn1_time_get(X509_get0_notAfter(ee), &t), 0);
	assert_int_equal(t, T0 + 172800);
	X509_free(ee);
	free(der);
	/* A manifest signed after its nextUpdate is refused before return. */
	s.signing_time = T0 + 172801;
	assert_int_equal(ca_sigobj_mft(&s, &m, &der, &len, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "signing-time"));
}

static void
test_aspa(void **state)
{
	struct fx		*f = *state;
	struct ca_sigobj_spec	 s;
	uint32_t		 prov[2] = { 64498, 64497 };
	struct ca_aspa		 a = { 64496, prov, 2 };
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	X509			*ee;

	spec(f, &s, "rsync://rpki.test/repo/ca/as64496.asa");
	assert_int_equal(ca_sigobj_aspa(&s, &a, &der, &len, &ee, &err), 0);
	check_ee(f, ee, s.object_uri, 8);
	assert_int_equal(X509_get_ext_by_NID(ee, NID_sbgp_ipAddrBlock, -1),
	    -1);
	X509_free(ee);
	free(der);
	s.signing_time = s.not_after + 1;
	assert_int_equal(ca_sigobj_aspa(&s, &a, &der, &len, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "signing-time after"));
	s.signing_time = T0;
	/* Bad spec: no serial. */
	s.serial_len = 0;
	assert_int_equal(ca_sigobj_aspa(&s, &a, &der, &len, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "as64496.asa: bad EE serial"));
}

/*
 * rpki-client (installed with the test dependencies) as the judge: a TA
 * with a CRL, and a ROA and a manifest from ca_sigobj_*, must give
 * "Validation: OK" in file mode with nothing on stderr.  (ASPA is left out:
 * Debian 12's rpki-client 8.2 only reads the draft-10 encoding.)
 */
static X509 *
rp_ta(struct hsm_key *k, time_t now)
{
	EVP_PKEY		*pk = hsm_key_pubkey(k);
	X509			*x = X509_new();
	X509_NAME		*n = X509_NAME_new();
	CERTIFICATEPOLICIES	*cp = CERTIFICATEPOLICIES_new();
	POLICYINFO		*pi = POLICYINFO_new();

	X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_PRINTABLESTRING,
	    (const unsigned char *)hsm_key_id(k), -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	ASN1_TIME_set(X509_getm_notBefore(x), now - 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), now + 365 * 86400);
	X509_set_pubkey(x, pk);
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = ca_asn1_oid("1.3.6.1.5.5.7.14.2");
	sk_POLICYINFO_push(cp, pi);
	assert_true(objtest_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
	    objtest_ext(x, x, NID_subject_key_identifier, "hash") &&
	    objtest_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
	    X509_add1_ext_i2d(x, NID_certificate_policies, cp, 1, 0) &&
	    objtest_ext(x, x, NID_sinfo_access, "caRepository;URI:rsync://"
	    "rpki.test/repo/ca/,rpkiManifest;URI:rsync://rpki.test/repo/ca/"
	    "ca.mft,1.3.6.1.5.5.7.48.13;URI:https://rpki.test/n.xml") &&
	    objtest_ext(x, x, NID_sbgp_ipAddrBlock,
	    "critical,IPv4:0.0.0.0/0,IPv6:::/0") &&
	    objtest_ext(x, x, NID_sbgp_autonomousSysNum,
	    "critical,AS:1-4294967295") && X509_sign(x, pk, EVP_sha256()));
	CERTIFICATEPOLICIES_free(cp);
	X509_NAME_free(n);
	return x;
}

static void
test_rpki_client(void **state)
{
	struct fx		*f = *state;
	char			 dir[] = "/tmp/cairn-sigobj-XXXXXX";
	time_t			 now = time(NULL);
	X509			*ta = rp_ta(f->cakey, now);
	struct ca_mft_file	 files[2];
	struct ca_mft		 m = { { 1 }, 1, now - 60, now + 86400, files, 2 };
	struct ca_roa_prefix	 p;
	struct ca_roa		 roa = { 64496, &p, 1 };
	struct ca_sigobj_spec	 s;
	struct cm_err		 err;
	EVP_PKEY		*k2 = objtest_key();
	uint8_t			*der;
	size_t			 len;

	rpjudge_dir(dir, ta, f->cakey, now, &files[0]);
	assert_int_equal(ca_roa_prefix_parse("192.0.2.0/24", &p, &err), 0);
	spec(f, &s, "rsync://rpki.test/repo/ca/x.roa");
	s.issuer = ta;
	s.not_before = now - 3600;
	s.not_after = now + 30 * 86400;
	s.signing_time = now - 60;
	assert_int_equal(ca_sigobj_roa(&s, &roa, &der, &len, NULL, &err), 0);
	rpjudge_put(dir, "x.roa", der, len, &files[1]);
	free(der);
	rpjudge_mft(dir, &s, &m, k2);
	rpjudge_check(dir, "x.roa", NULL);
	rpjudge_check(dir, "ca.mft", NULL);
	rpjudge_rm(dir);
	EVP_PKEY_free(k2);
	X509_free(ta);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roa),
		cmocka_unit_test(test_roa_overlap),
		cmocka_unit_test(test_mft),
		cmocka_unit_test(test_aspa),
		cmocka_unit_test(test_rpki_client),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
