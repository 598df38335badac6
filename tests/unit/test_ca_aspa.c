/*
 * ca_aspa: the current ASPA profile (version 1, AFI-agnostic).
 *
 * Note on validators: these objects are what rpki-client >= 8.5 and FORT
 * >= 1.7 accept.  Debian 12's rpki-client 8.2 only reads the draft-10
 * encoding and reports "failed to parse ASProviderAttestation" for ours,
 * and FORT 1.5.4 ignores .asa files, so the byte-level checks below (and the
 * STANDARDS.md example) are the conformance test here, not an RP run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ca/asn1.h"
#include "ca/aspa.h"
#include "ca/cms.h"
#include "ca_objtest.h"

#define T0	1795000000

static void
decode_fails(const uint8_t *der, size_t len, const char *want)
{
	struct ca_aspa	*a = NULL;
	struct cm_err	 err;

	assert_int_equal(ca_aspa_decode("x.asa", der, len, &a, &err), -1);
	assert_null(a);
	assert_memory_equal(err.msg, "x.asa: ", 7);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
}

/* STANDARDS.md §7: version 1, CAS 64496, providers 64497, 64498. */
static void
test_standards_example(void **state)
{
	static const uint8_t want[] = { 0x30, 0x16, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0a, 0x02, 0x03,
		0x00, 0xfb, 0xf1, 0x02, 0x03, 0x00, 0xfb, 0xf2 };
	uint32_t	 prov[3] = { 64498, 64497, 64498 };	/* unsorted, dup */
	struct ca_aspa	 a = { 64496, prov, 3 }, *back;
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(der, want, len);
	assert_int_equal(prov[0], 64498);	/* input untouched */
	assert_int_equal(ca_aspa_decode("x.asa", der, len, &back, &err), 0);
	assert_int_equal(back->customer, 64496);
	assert_int_equal(back->nproviders, 2);
	assert_int_equal(back->providers[0], 64497);
	assert_int_equal(back->providers[1], 64498);
	ca_aspa_free(back);
	ca_aspa_free(NULL);
	free(der);
}

static void
test_encode_rules(void **state)
{
	uint32_t	 p[3];
	struct ca_aspa	 a = { 64496, p, 0 };
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), -1);
	p[0] = 64496;				/* customer as provider */
	a.nproviders = 1;
	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "own provider"));
	p[0] = 0;				/* AS0 alone: fine */
	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), 0);
	free(der);
	p[1] = 65000;				/* AS0 with others */
	a.nproviders = 2;
	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "AS0"));
	a.customer = 0;
	p[0] = 1;
	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), -1);
	p[0] = UINT32_MAX;			/* 4-octet ASNs */
	a.customer = UINT32_MAX - 1;
	a.nproviders = 1;
	assert_int_equal(ca_aspa_encode(&a, &der, &len, &err), 0);
	free(der);
}

static void
test_strict_decode(void **state)
{
	/* version omitted (draft-10 style) */
	static const uint8_t nov[] = { 0x30, 0x11, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x0a, 0x02, 0x03, 0x00, 0xfb, 0xf1, 0x02, 0x03,
		0x00, 0xfb, 0xf2 };
	/* version 0 explicit */
	static const uint8_t v0[] = { 0x30, 0x16, 0xa0, 0x03, 0x02, 0x01,
		0x00, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0a, 0x02, 0x03,
		0x00, 0xfb, 0xf1, 0x02, 0x03, 0x00, 0xfb, 0xf2 };
	/* providers descending */
	static const uint8_t desc[] = { 0x30, 0x16, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0a, 0x02, 0x03,
		0x00, 0xfb, 0xf2, 0x02, 0x03, 0x00, 0xfb, 0xf1 };
	/* duplicate provider */
	static const uint8_t dup[] = { 0x30, 0x16, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0a, 0x02, 0x03,
		0x00, 0xfb, 0xf1, 0x02, 0x03, 0x00, 0xfb, 0xf1 };
	/* customer among providers */
	static const uint8_t self[] = { 0x30, 0x16, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0a, 0x02, 0x03,
		0x00, 0xfb, 0xf0, 0x02, 0x03, 0x00, 0xfb, 0xf1 };
	/* empty provider list */
	static const uint8_t empty[] = { 0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x00 };
	/* AS0 plus another provider */
	static const uint8_t as0[] = { 0x30, 0x13, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x07, 0x02, 0x01,
		0x00, 0x02, 0x02, 0x00, 0xc8 };
	/* draft-10 providers with afiLimit */
	static const uint8_t afi[] = { 0x30, 0x19, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x0d, 0x30, 0x0b,
		0x02, 0x03, 0x00, 0xfb, 0xf1, 0x04, 0x02, 0x00, 0x01, 0x00,
		0x00 };
	/* customer AS0 */
	static const uint8_t c0[] = { 0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01,
		0x01, 0x02, 0x01, 0x00, 0x30, 0x05, 0x02, 0x03, 0x00, 0xfb,
		0xf1 };

	decode_fails(nov, sizeof(nov), NULL);
	decode_fails(v0, sizeof(v0), "version");
	decode_fails(desc, sizeof(desc), "ascending");
	decode_fails(dup, sizeof(dup), "repeated");
	decode_fails(self, sizeof(self), "own provider");
	decode_fails(empty, sizeof(empty), "providers");
	decode_fails(as0, sizeof(as0), "AS0");
	decode_fails(afi, sizeof(afi), NULL);
	decode_fails(c0, sizeof(c0), "AS0");
	for (size_t n = 0; n < sizeof(desc); n++)
		decode_fails(desc, n, NULL);
}

static void
test_file(void **state)
{
	EVP_PKEY	*ca = objtest_key(), *ee = objtest_key();
	uint32_t	 prov[2] = { 64497, 64498 };
	struct ca_aspa	 a = { 64496, prov, 2 }, *back;
	struct cm_err	 err;
	uint8_t		*ec, *der;
	size_t		 eclen, len;
	X509		*cert, *got;
	struct { enum objtest_res kind; const char *res; const char *want; }
	    c[] = {
		{ OT_ASPA, "critical,AS:64496", NULL },
		{ OT_ASPA, "critical,AS:64496-64497", "exactly" },
		{ OT_ASPA, "critical,AS:inherit", "exactly" },
		{ OT_ASPA, "critical,AS:64497", "exactly" },
		{ OT_ROA, "critical,IPv4:192.0.2.0/24", "IP resources" },
		{ OT_INHERIT, NULL, "IP resources" },
	};

	assert_int_equal(ca_aspa_encode(&a, &ec, &eclen, &err), 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cert = objtest_ee(ca, ee, T0, T0 + 86400, c[i].kind, c[i].res);
		assert_non_null(cert);
		assert_int_equal(ca_cms_sign("x.asa", CA_OID_CT_ASPA, ec,
		    eclen, cert, ee, T0, &der, &len, &err), 0);
		if (c[i].want == NULL) {
			assert_int_equal(ca_aspa_parse("x.asa", der, len,
			    &back, &got, &err), 0);
			assert_int_equal(back->nproviders, 2);
			assert_int_equal(X509_cmp(got, cert), 0);
			X509_free(got);
			ca_aspa_free(back);
		} else {
			assert_int_equal(ca_aspa_parse("x.asa", der, len,
			    &back, NULL, &err), -1);
			if (strstr(err.msg, c[i].want) == NULL)
				fail_msg("case %zu: %s", i, err.msg);
		}
		free(der);
		X509_free(cert);
	}
	/* A ROA OID on ASPA content is refused by the parser. */
	cert = objtest_ee(ca, ee, T0, T0 + 86400, OT_ASPA, "critical,AS:64496");
	assert_int_equal(ca_cms_sign("x.asa", CA_OID_CT_ROA, ec, eclen, cert,
	    ee, T0, &der, &len, &err), 0);
	assert_int_equal(ca_aspa_parse("x.asa", der, len, &back, NULL, &err),
	    -1);
	assert_non_null(strstr(err.msg, "eContentType"));
	free(der);
	X509_free(cert);
	free(ec);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(ee);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standards_example),
		cmocka_unit_test(test_encode_rules),
		cmocka_unit_test(test_strict_decode),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
