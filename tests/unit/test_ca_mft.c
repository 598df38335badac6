/*
 * ca_mft: RFC 9286 manifests: encoding details, strict decoding of hostile
 * eContent, EE inherit/validity rules, and whole .mft files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/mft.h"
#include "common/cm_enc.h"
#include "ca_objtest.h"

#define T0	1795000000	/* 2026-11-18 11:06:40Z */
#define T1	(T0 + 48 * 3600)

static void
mk(struct ca_mft *m, struct ca_mft_file *f, size_t n)
{
	memset(m, 0, sizeof(*m));
	ca_mft_set_number(m, 7);
	m->this_update = T0;
	m->next_update = T1;
	for (size_t i = 0; i < n; i++) {
		snprintf(f[i].name, sizeof(f[i].name), "%c%zu.%s",
		    (int)('z' - i), i, i == 0 ? "crl" : "roa");
		cm_sha256(f[i].name, strlen(f[i].name), f[i].hash);
	}
	/* A hash ending in zero octets must keep all 256 bits. */
	if (n > 1)
		memset(f[1].hash + 28, 0, 4);
	m->files = f;
	m->nfiles = n;
}

static void
test_encode(void **state)
{
	struct ca_mft_file	 f[3];
	struct ca_mft		 m, *back;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;
	static const uint8_t	 head[] = { 0x02, 0x01, 0x07, 0x18, 0x0f,
		'2', '0', '2', '6', '1', '1', '1', '8', '1', '1', '0', '6',
		'4', '0', 'Z', 0x18, 0x0f, '2', '0', '2', '6', '1', '1', '2',
		'0', '1', '1', '0', '6', '4', '0', 'Z', 0x06, 0x09, 0x60, 0x86,
		0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
	uint8_t			 hashbits[35] = { 0x03, 0x21, 0x00 };

	mk(&m, f, 3);
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), 0);
	/* No version, then number, two GeneralizedTimes, sha256. */
	assert_int_equal(der[0], 0x30);
	assert_int_equal(objtest_count(der, len, head, sizeof(head)), 1);
	assert_int_equal(der[2 + (der[1] & 0x80 ? (der[1] & 0x7f) : 0)], 0x02);
	memcpy(hashbits + 3, f[1].hash, 32);
	assert_int_equal(objtest_count(der, len, hashbits, 35), 1);
	assert_int_equal(ca_mft_decode("x.mft", der, len, &back, &err), 0);
	assert_int_equal(back->nfiles, 3);
	/* Sorted by name on the way out. */
	assert_string_equal(back->files[0].name, "x2.roa");
	assert_string_equal(back->files[2].name, "z0.crl");
	assert_memory_equal(back->files[1].hash, f[1].hash, 32);
	assert_int_equal(back->this_update, T0);
	assert_int_equal(back->next_update, T1);
	assert_int_equal(back->numberlen, 1);
	assert_int_equal(back->number[0], 7);
	ca_mft_free(back);
	ca_mft_free(NULL);
	free(der);
}

static void
test_names(void **state)
{
	assert_true(ca_mft_name_ok("AbC_-09.roa"));
	assert_true(ca_mft_name_ok("x.asa"));
	assert_false(ca_mft_name_ok("x.ROA"));
	assert_false(ca_mft_name_ok("x.txt"));
	assert_false(ca_mft_name_ok(".roa"));
	assert_false(ca_mft_name_ok("a.b.roa"));
	assert_false(ca_mft_name_ok("a b.roa"));
	assert_false(ca_mft_name_ok("../a.roa"));
	assert_false(ca_mft_name_ok("a.roaa"));
}

static void
test_encode_refuses(void **state)
{
	struct ca_mft_file	 f[3];
	struct ca_mft		 m;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	mk(&m, f, 3);
	memcpy(f[2].hash, f[0].hash, 32);
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "duplicate file hash"));
	mk(&m, f, 3);
	strcpy(f[2].name, f[0].name);
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
	mk(&m, f, 3);
	strcpy(f[1].name, "bad name.roa");
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
	mk(&m, f, 3);
	m.next_update = m.this_update;
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
	mk(&m, f, 0);
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
}

/* Patch one byte of a good encoding and expect the named complaint. */
static void
patched(const uint8_t *der, size_t len, const uint8_t *find, size_t flen,
    size_t off, uint8_t val, const char *want)
{
	uint8_t		*b = malloc(len);
	const uint8_t	*at = memmem(der, len, find, flen);
	struct ca_mft	*m = NULL;
	struct cm_err	 err;

	assert_non_null(at);
	memcpy(b, der, len);
	b[(size_t)(at - der) + off] = val;
	assert_int_equal(ca_mft_decode("x.mft", b, len, &m, &err), -1);
	assert_null(m);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
	free(b);
}

static void
test_strict_decode(void **state)
{
	struct ca_mft_file	 f[3];
	struct ca_mft		 m, *out;
	struct cm_err		 err;
	uint8_t			*der, *big;
	size_t			 len;
	static const uint8_t	 gt[] = { 0x18, 0x0f, '2', '0', '2', '6' };
	static const uint8_t	 sha[] = { 0x60, 0x86, 0x48, 0x01, 0x65 };
	static const uint8_t	 z0[] = { 'z', '0', '.', 'c', 'r', 'l' };
	static const uint8_t	 x2[] = { 'x', '2', '.', 'r', 'o', 'a' };

	mk(&m, f, 3);
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), 0);
	patched(der, len, gt, sizeof(gt), 16, 'X', "YYYYMMDDHHMMSSZ");
	patched(der, len, sha, sizeof(sha), 4, 0x66, "sha256");
	patched(der, len, z0, sizeof(z0), 4, 'o', "bad file name");
	patched(der, len, z0, sizeof(z0), 0, 'a', "sorted");
	patched(der, len, x2, sizeof(x2), 1, '/', "bad file name");
	/* unused bits in a hash */
	patched(der, len, (const uint8_t[]){ 0x03, 0x21, 0x00 }, 3, 2, 0x01,
	    "256 bits");
	/* manifestNumber negative: 02 01 07 -> 02 01 87 */
	patched(der, len, (const uint8_t[]){ 0x02, 0x01, 0x07 }, 3, 2, 0x87,
	    "manifestNumber");
	for (size_t n = 0; n < len; n++)
		assert_int_equal(ca_mft_decode("x.mft", der, n, &out, &err),
		    -1);
	/* Trailing bytes. */
	big = calloc(1, len + 2);
	memcpy(big, der, len);
	assert_int_equal(ca_mft_decode("x.mft", big, len + 2, &out, &err), -1);
	assert_non_null(strstr(err.msg, "trailing"));
	free(big);
	free(der);
}

/* 20-octet numbers are fine; 21 octets are not. */
static void
test_number_size(void **state)
{
	struct ca_mft_file	 f[1];
	struct ca_mft		 m, *out;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	mk(&m, f, 1);
	memset(m.number, 0x7f, 20);
	m.numberlen = 20;
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), 0);
	assert_int_equal(ca_mft_decode("x.mft", der, len, &out, &err), 0);
	assert_int_equal(out->numberlen, 20);
	ca_mft_free(out);
	free(der);
	m.numberlen = 21;
	assert_int_equal(ca_mft_encode(&m, &der, &len, &err), -1);
}

static void
test_file(void **state)
{
	EVP_PKEY		*ca = objtest_key(), *ee = objtest_key();
	struct ca_mft_file	 f[2];
	struct ca_mft		 m, *back;
	struct cm_err		 err;
	uint8_t			*ec, *der;
	size_t			 eclen, len;
	X509			*cert;
	struct { time_t nb, na; enum objtest_res kind; const char *res;
	    const char *want; } c[] = {
		{ T0, T1, OT_INHERIT, NULL, NULL },
		{ T0, T1 + 1, OT_INHERIT, NULL, "validity" },
		{ T0, T1, OT_ROA, "critical,IPv4:192.0.2.0/24", "inherit" },
		{ T0, T1, OT_ASPA, "critical,AS:inherit", "inherit" },
	};

	mk(&m, f, 2);
	assert_int_equal(ca_mft_encode(&m, &ec, &eclen, &err), 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cert = objtest_ee(ca, ee, c[i].nb, c[i].na, c[i].kind,
		    c[i].res);
		assert_non_null(cert);
		assert_int_equal(ca_cms_sign("x.mft", CA_OID_CT_MFT, ec, eclen,
		    cert, ee, T0, &der, &len, &err), 0);
		if (c[i].want == NULL) {
			assert_int_equal(ca_mft_parse("x.mft", der, len, &back,
			    NULL, &err), 0);
			assert_int_equal(back->nfiles, 2);
			ca_mft_free(back);
		} else {
			assert_int_equal(ca_mft_parse("x.mft", der, len, &back,
			    NULL, &err), -1);
			assert_non_null(strstr(err.msg, c[i].want));
		}
		free(der);
		X509_free(cert);
	}
	/* signing-time after nextUpdate */
	cert = objtest_ee(ca, ee, T0, T1, OT_INHERIT, NULL);
	assert_int_equal(ca_cms_sign("x.mft", CA_OID_CT_MFT, ec, eclen, cert,
	    ee, T1 + 1, &der, &len, &err), 0);
	assert_int_equal(ca_mft_parse("x.mft", der, len, &back, NULL, &err),
	    -1);
	assert_non_null(strstr(err.msg, "signing-time"));
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
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_strict_decode),
		cmocka_unit_test(test_number_size),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
