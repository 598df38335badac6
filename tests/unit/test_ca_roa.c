/*
 * ca_roa: RFC 9582 encoding byte for byte, canonical order, strict decoding
 * of hostile eContent, EE resource rules, and whole .roa files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/roa.h"
#include "ca_objtest.h"

#define T0	1795000000

static struct ca_roa_prefix
pfx(const char *s)
{
	struct ca_roa_prefix	p;
	struct cm_err		err;

	assert_int_equal(ca_roa_prefix_parse(s, &p, &err), 0);
	return p;
}

static void
check_decode_fails(const uint8_t *der, size_t len, const char *want)
{
	struct ca_roa	*roa = NULL;
	struct cm_err	 err;

	assert_int_equal(ca_roa_decode("x.roa", der, len, &roa, &err), -1);
	assert_null(roa);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
	assert_memory_equal(err.msg, "x.roa: ", 7);
}

/* STANDARDS.md §6: AS64496, 192.0.2.0/24. */
static void
test_standards_example(void **state)
{
	static const uint8_t want[] = { 0x30, 0x17, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x10, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x08, 0x30, 0x06, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02 };
	struct ca_roa_prefix	 p = pfx("192.0.2.0/24");
	struct ca_roa		 roa = { 64496, &p, 1 }, *back;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	assert_int_equal(ca_roa_encode(&roa, &der, &len, &err), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(der, want, len);
	assert_int_equal(ca_roa_decode("x.roa", der, len, &back, &err), 0);
	assert_int_equal(back->asid, 64496);
	assert_int_equal(back->nprefixes, 1);
	assert_memory_equal(&back->prefixes[0], &p, sizeof(p));
	ca_roa_free(back);
	ca_roa_free(NULL);
	free(der);
}

/* The unused-bits pitfall: 10.0.0.0/16 is 03 03 00 0A 00, not /7. */
static void
test_bitstring_pitfall(void **state)
{
	static const uint8_t bits16[] = { 0x03, 0x03, 0x00, 0x0a, 0x00 };
	static const uint8_t bits0[] = { 0x30, 0x03, 0x03, 0x01, 0x00 };
	static const uint8_t v6[] = { 0x03, 0x05, 0x00, 0x20, 0x01, 0x0d,
		0xb8, 0x02, 0x01, 0x30 };
	struct ca_roa_prefix	 p[3] = { pfx("10.0.0.0/16"), pfx("0.0.0.0/0"),
	    pfx("2001:db8::/32-48") };
	struct ca_roa		 roa = { 65000, p, 3 }, *back;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	char			 s[64];

	assert_int_equal(ca_roa_encode(&roa, &der, &len, &err), 0);
	assert_int_equal(objtest_count(der, len, bits16, sizeof(bits16)), 1);
	assert_int_equal(objtest_count(der, len, bits0, sizeof(bits0)), 1);
	assert_int_equal(objtest_count(der, len, v6, sizeof(v6)), 1);
	/* maxLength appears only where it differs: one INTEGER 48. */
	assert_int_equal(ca_roa_decode("x.roa", der, len, &back, &err), 0);
	assert_int_equal(back->nprefixes, 3);
	ca_roa_prefix_str(&back->prefixes[0], s, sizeof(s));
	assert_string_equal(s, "0.0.0.0/0");
	ca_roa_prefix_str(&back->prefixes[1], s, sizeof(s));
	assert_string_equal(s, "10.0.0.0/16");
	ca_roa_prefix_str(&back->prefixes[2], s, sizeof(s));
	assert_string_equal(s, "2001:db8::/32-48");
	ca_roa_free(back);
	free(der);
}

static void
test_canonical(void **state)
{
	struct ca_roa_prefix	 in[6] = { pfx("2001:db8::/32"),
	    pfx("192.0.2.0/24-25"), pfx("192.0.2.0/24"), pfx("10.0.0.0/8"),
	    pfx("192.0.2.0/24"), pfx("2001:db8::/32") };
	struct ca_roa_prefix	 sorted[4] = { pfx("10.0.0.0/8"),
	    pfx("192.0.2.0/24"), pfx("192.0.2.0/24-25"), pfx("2001:db8::/32") };
	struct ca_roa		 a = { 1, in, 6 }, b = { 1, sorted, 4 };
	struct cm_err		 err;
	uint8_t			*d1, *d2;
	size_t			 l1, l2;

	assert_int_equal(ca_roa_encode(&a, &d1, &l1, &err), 0);
	assert_int_equal(ca_roa_encode(&b, &d2, &l2, &err), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(d1, d2, l1);
	assert_int_equal(a.nprefixes, 6);	/* input left alone */
	free(d1);
	free(d2);
}

static void
test_bad_input(void **state)
{
	struct ca_roa_prefix	p;
	struct ca_roa		roa = { 1, &p, 1 };
	struct cm_err		err;
	uint8_t			*der;
	size_t			len;

	assert_int_equal(ca_roa_prefix_parse("192.0.2.1/24", &p, &err), -1);
	assert_int_equal(ca_roa_prefix_parse("192.0.2.0/33", &p, &err), -1);
	assert_int_equal(ca_roa_prefix_parse("192.0.2.0/24-23", &p, &err), -1);
	assert_int_equal(ca_roa_prefix_parse("2001:db8::/32-129", &p, &err),
	    -1);
	assert_int_equal(ca_roa_prefix_parse("nope/8", &p, &err), -1);
	roa.nprefixes = 0;
	assert_int_equal(ca_roa_encode(&roa, &der, &len, &err), -1);
	p = pfx("192.0.2.0/24");
	p.maxlen = 33;
	roa.nprefixes = 1;
	assert_int_equal(ca_roa_encode(&roa, &der, &len, &err), -1);
}

/* Hand-made eContent that the strict decoder must refuse. */
static void
test_strict_decode(void **state)
{
	/* explicit version 0 */
	static const uint8_t v0[] = { 0x30, 0x1c, 0xa0, 0x03, 0x02, 0x01, 0x00,
		0x02, 0x03, 0x00, 0xfb, 0xf0, 0x30, 0x10, 0x30, 0x0e, 0x04,
		0x02, 0x00, 0x01, 0x30, 0x08, 0x30, 0x06, 0x03, 0x04, 0x00,
		0xc0, 0x00, 0x02 };
	/* AFI 0003 */
	static const uint8_t afi[] = { 0x30, 0x17, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x10, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x03, 0x30,
		0x08, 0x30, 0x06, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02 };
	/* maxLength 23 < /24 */
	static const uint8_t ml[] = { 0x30, 0x1a, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x13, 0x30, 0x11, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x0b, 0x30, 0x09, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02, 0x02,
		0x01, 0x17 };
	/* maxLength 24 on a /24: must be omitted */
	static const uint8_t mleq[] = { 0x30, 0x1a, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x13, 0x30, 0x11, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x0b, 0x30, 0x09, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02, 0x02,
		0x01, 0x18 };
	/* non-zero unused bits (BER, OpenSSL masks them) */
	static const uint8_t ber[] = { 0x30, 0x17, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x10, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x08, 0x30, 0x06, 0x03, 0x04, 0x05, 0xc0, 0x00, 0x02 };
	/* 192.0.2.0/24 after 198.51.100.0/24: not canonical */
	static const uint8_t order[] = { 0x30, 0x1f, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x18, 0x30, 0x16, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x10, 0x30, 0x06, 0x03, 0x04, 0x00, 0xc6, 0x33, 0x64, 0x30,
		0x06, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02 };
	/* /33 in IPv4 */
	static const uint8_t big[] = { 0x30, 0x19, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x12, 0x30, 0x10, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x0a, 0x30, 0x08, 0x03, 0x06, 0x07, 0xc0, 0x00, 0x02, 0x00,
		0x80 };
	/* asID 2^32 */
	static const uint8_t as[] = { 0x30, 0x19, 0x02, 0x05, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x30, 0x10, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x01,
		0x30, 0x08, 0x30, 0x06, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02 };
	/* two IPv4 families */
	static const uint8_t fam2[] = { 0x30, 0x27, 0x02, 0x03, 0x00, 0xfb,
		0xf0, 0x30, 0x20, 0x30, 0x0e, 0x04, 0x02, 0x00, 0x01, 0x30,
		0x08, 0x30, 0x06, 0x03, 0x04, 0x00, 0xc0, 0x00, 0x02, 0x30,
		0x0e, 0x04, 0x02, 0x00, 0x01, 0x30, 0x08, 0x30, 0x06, 0x03,
		0x04, 0x00, 0xc6, 0x33, 0x64 };

	check_decode_fails(v0, sizeof(v0), "version");
	check_decode_fails(afi, sizeof(afi), "addressFamily");
	check_decode_fails(ml, sizeof(ml), "maxLength");
	check_decode_fails(order, sizeof(order), "canonical");
	check_decode_fails(mleq, sizeof(mleq), "omitted");
	check_decode_fails(ber, sizeof(ber), "not DER");
	check_decode_fails(big, sizeof(big), "exceeds");
	check_decode_fails(as, sizeof(as), "asID");
	check_decode_fails(fam2, sizeof(fam2), "families");
	for (size_t n = 0; n < sizeof(order); n++)
		check_decode_fails(order, n, NULL);
}

/* Whole .roa files: EE resource rules. */
static void
test_file(void **state)
{
	EVP_PKEY		*ca = objtest_key(), *ee = objtest_key();
	struct ca_roa_prefix	 p[2] = { pfx("192.0.2.0/24-26"),
	    pfx("2001:db8:1::/48") };
	struct ca_roa		 roa = { 64496, p, 2 }, *back = NULL;
	struct cm_err		 err;
	const char		*res[] = {
		"critical,IPv4:192.0.2.0/23,IPv6:2001:db8::/32",   /* ok */
		"critical,IPv4:192.0.2.0/25,IPv6:2001:db8::/32",   /* short */
		"critical,IPv4:inherit,IPv6:2001:db8::/32",	    /* inherit */
	};
	X509			*cert, *got = NULL;

	for (size_t i = 0; i < 4; i++) {
		uint8_t	*ec, *der;
		size_t	 eclen, len;

		cert = i < 3 ? objtest_ee(ca, ee, T0, T0 + 86400, OT_ROA,
		    res[i]) : objtest_ee(ca, ee, T0, T0 + 86400, OT_INHERIT,
		    NULL);
		assert_non_null(cert);
		assert_int_equal(ca_roa_encode(&roa, &ec, &eclen, &err), 0);
		assert_int_equal(ca_cms_sign("x.roa", CA_OID_CT_ROA, ec, eclen,
		    cert, ee, T0, &der, &len, &err), 0);
		if (i == 0) {
			assert_int_equal(ca_roa_parse("x.roa", der, len, &back,
			    &got, &err), 0);
			assert_int_equal(back->asid, 64496);
			assert_int_equal(X509_cmp(got, cert), 0);
			ca_roa_free(back);
			X509_free(got);
		} else {
			assert_int_equal(ca_roa_parse("x.roa", der, len, &back,
			    NULL, &err), -1);
			assert_non_null(strstr(err.msg, "x.roa: ROA"));
		}
		free(ec);
		free(der);
		X509_free(cert);
	}
	EVP_PKEY_free(ca);
	EVP_PKEY_free(ee);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standards_example),
		cmocka_unit_test(test_bitstring_pitfall),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_strict_decode),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
