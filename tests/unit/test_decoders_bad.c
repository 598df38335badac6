/*
 * Every decoder against truncated, bit-flipped and oversized input: it must
 * not crash (the sanitizer build runs this too) and must either accept the
 * input or refuse it with an error naming the object.  Some bit flips give
 * another valid object (a different AS number, say); that is fine, the
 * signature layer catches those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ca/aspa.h"
#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/csr.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "ca/tak.h"
#include "ca/tal.h"
#include "ca/updown.h"
#include "hsm/hsm.h"

#define OBJ "sample.obj"

/* Runs the decoder on buf; returns 1 accepted, 0 refused properly. */
typedef int (*decode_fn)(const uint8_t *buf, size_t len, struct cm_err *err);

static int
check(decode_fn fn, const uint8_t *buf, size_t len)
{
	struct cm_err	err;
	int		rc;

	cm_err_clear(&err);
	rc = fn(buf, len, &err);
	if (rc == 0)
		return 1;
	assert_int_equal(rc, -1);
	assert_int_not_equal(err.code, CM_OK);
	if (strstr(err.msg, OBJ) == NULL && strstr(err.msg, "peer") == NULL)
		fail_msg("error does not name the object: \"%s\"", err.msg);
	return 0;
}

/* Truncations, one flip per bit position of every byte, 64 KiB appended. */
static void
mangle(const char *what, decode_fn fn, const uint8_t *good, size_t len)
{
	uint8_t	*buf = malloc(len + 65536);
	size_t	 i, refused = 0, total = 0;
	int	 bit;

	assert_non_null(buf);
	assert_int_equal(check(fn, good, len), 1);
	for (i = 0; i < len; i++) {
		total++;
		refused += !check(fn, good, i);
	}
	assert_int_equal(refused, total);	/* every proper prefix is refused */
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			memcpy(buf, good, len);
			buf[i] ^= (uint8_t)(1 << bit);
			(void)check(fn, buf, len);
		}
	}
	memcpy(buf, good, len);
	memset(buf + len, 0x30, 65536);
	assert_int_equal(check(fn, buf, len + 65536), 0);
	printf("%s: %zu bytes, all truncations refused, flips and oversize ok\n",
	    what, len);
	free(buf);
}

static int
d_cert(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_cert *c = NULL;
	int rc = ca_cert_parse(OBJ, b, n, &c, err);

	ca_cert_free(c);
	return rc;
}

static int
d_crl(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_crl *c = NULL;
	int rc = ca_crl_parse(OBJ, b, n, &c, err);

	ca_crl_free(c);
	return rc;
}

static int
d_roa(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_roa *r = NULL;
	int rc = ca_roa_decode(OBJ, b, n, &r, err);

	ca_roa_free(r);
	return rc;
}

static int
d_tak(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_tak *t = NULL;
	int rc = ca_tak_decode(OBJ, b, n, &t, err);

	ca_tak_free(t);
	return rc;
}

static int
d_mft(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_mft *m = NULL;
	int rc = ca_mft_decode(OBJ, b, n, &m, err);

	ca_mft_free(m);
	return rc;
}

static int
d_aspa(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_aspa *a = NULL;
	int rc = ca_aspa_decode(OBJ, b, n, &a, err);

	ca_aspa_free(a);
	return rc;
}

static int
d_tal(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_tal *t = NULL;
	int rc = ca_tal_parse(OBJ, (const char *)b, n, &t, err);

	ca_tal_free(t);
	return rc;
}

static int
d_csr(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_csr *c = NULL;
	int rc = ca_csr_parse(OBJ, CA_CSR_CA, b, n, &c, err);

	ca_csr_free(c);
	return rc;
}

static int
d_updown(const uint8_t *b, size_t n, struct cm_err *err)
{
	struct ca_ud_msg	*m = NULL;
	struct ca_ud_error	 e;
	int			 rc = ca_ud_parse("peer", b, n, &m, &e);

	ca_ud_free(m);
	*err = e.err;
	return rc;
}

struct fx {
	struct hsm	*hsm;
	struct hsm_key	*key;
	X509		*ta;
};

static int
setup(void **state)
{
	struct fx		*f = calloc(1, sizeof(*f));
	struct ca_cert_spec	 s;
	struct ca_res		*r = ca_res_new();
	struct cm_err		 err;

	f->hsm = hsm_open_mem();
	if (hsm_key_create(f->hsm, "ta", &f->key, &err) != 0 ||
	    ca_res_parse(r, CA_RES_AS, "64496-64511", "as", &err) != 0 ||
	    ca_res_parse(r, CA_RES_V4, "10.0.0.0/8", "v4", &err) != 0)
		return -1;
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_TA;
	s.subject_key = hsm_key_pubkey(f->key);
	s.issuer_key = f->key;
	s.not_before = 1800000000;
	s.not_after = 1800000000 + 86400 * 365;
	s.sia_repo = "rsync://rpki.test/repo/ta/";
	s.sia_mft = "rsync://rpki.test/repo/ta/ta.mft";
	s.res = r;
	if (ca_cert_serial_random(s.serial, &s.serial_len, &err) != 0 ||
	    ca_cert_issue(&s, &f->ta, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	ca_res_free(r);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->ta);
	hsm_key_free(f->key);
	hsm_close(f->hsm);
	free(f);
	return 0;
}

static void
test_cert_crl(void **state)
{
	struct fx		*f = *state;
	uint8_t			*der = NULL;
	int			 n;
	struct ca_crl_spec	 cs;
	struct ca_crl_entry	 ent = { { 0x12, 0x34 }, 2, 1800000000 };
	X509_CRL		*crl;
	struct cm_err		 err;

	n = i2d_X509(f->ta, &der);
	assert_true(n > 0);
	mangle("certificate", d_cert, der, (size_t)n);
	OPENSSL_free(der);

	memset(&cs, 0, sizeof(cs));
	cs.issuer = f->ta;
	cs.issuer_key = f->key;
	cs.number = 7;
	cs.this_update = 1800000000;
	cs.next_update = 1800000000 + 86400;
	cs.entries = &ent;
	cs.nentries = 1;
	assert_int_equal(ca_crl_issue(&cs, &crl, &err), 0);
	der = NULL;
	n = i2d_X509_CRL(crl, &der);
	assert_true(n > 0);
	mangle("CRL", d_crl, der, (size_t)n);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

static void
test_econtents(void **state)
{
	struct ca_roa_prefix	 p[2];
	struct ca_roa		 roa = { 64496, p, 2 };
	uint32_t		 prov[] = { 64500, 64501, 4200000000u };
	struct ca_aspa		 aspa = { 64496, prov, 3 };
	struct ca_mft_file	 files[2];
	struct ca_mft		 mft;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	assert_int_equal(ca_roa_prefix_parse("10.0.0.0/16-24", &p[0], &err), 0);
	assert_int_equal(ca_roa_prefix_parse("2001:db8::/32", &p[1], &err), 0);
	assert_int_equal(ca_roa_encode(&roa, &der, &len, &err), 0);
	mangle("ROA eContent", d_roa, der, len);
	free(der);
	assert_int_equal(ca_aspa_encode(&aspa, &der, &len, &err), 0);
	mangle("ASPA eContent", d_aspa, der, len);
	free(der);
	memset(&mft, 0, sizeof(mft));
	memset(files, 0x5a, sizeof(files));
	files[1].hash[0] = 0xa5;	/* hashes must differ */
	snprintf(files[0].name, sizeof(files[0].name), "a.crl");
	snprintf(files[1].name, sizeof(files[1].name), "b.roa");
	mft.number[0] = 9;
	mft.numberlen = 1;
	mft.this_update = 1800000000;
	mft.next_update = 1800000000 + 86400;
	mft.files = files;
	mft.nfiles = 2;
	if (ca_mft_encode(&mft, &der, &len, &err) != 0)
		fail_msg("%s", err.msg);
	mangle("manifest eContent", d_mft, der, len);
	free(der);
	{
		char		*uris[] = { "rsync://rpki.test/repo/ta.cer" };
		char		*cm[] = { "test" };
		EVP_PKEY	*k = EVP_RSA_gen(2048);
		struct ca_takey	 cur = { cm, 1, uris, 1, k };
		struct ca_tak	 tak = { &cur, NULL, NULL };

		assert_non_null(k);
		assert_int_equal(ca_tak_encode(&tak, &der, &len, &err), 0);
		mangle("TAK eContent", d_tak, der, len);
		free(der);
		EVP_PKEY_free(k);
	}
}

static void
test_text_formats(void **state)
{
	struct fx	*f = *state;
	const char	*uris[] = { "rsync://rpki.test/repo/ta.cer" };
	char		*tal;
	uint8_t		*der;
	size_t		 len;
	struct cm_err	 err;
	const char	*ud = "<?xml version=\"1.0\"?>\n<message xmlns=\"http://"
	    "www.apnic.net/specs/rescerts/up-down/\" version=\"1\" sender=\"c\" "
	    "recipient=\"p\" type=\"issue\"><request class_name=\"0\" "
	    "req_resource_set_ipv4=\"10.0.0.0/8\">AQIDBAUGBwgJ</request></message>";

	assert_int_equal(ca_tal_write(NULL, 0, uris, 1, hsm_key_pubkey(f->key),
	    &tal, &err), 0);
	/* A TAL cut short may still be a TAL (fewer base64 lines): no prefix check. */
	{
		size_t i, n = strlen(tal);

		for (i = 0; i < n; i++)
			(void)check(d_tal, (const uint8_t *)tal, i);
	}
	free(tal);
	assert_int_equal(ca_csr_make(f->key, "rsync://a/r/", "rsync://a/r/x.mft",
	    NULL, &der, &len, &err), 0);
	mangle("PKCS#10 request", d_csr, der, len);
	free(der);
	{
		size_t i, n = strlen(ud);
		uint8_t *b = malloc(n);

		for (i = 0; i < n; i++)
			(void)check(d_updown, (const uint8_t *)ud, i);
		for (i = 0; i < n; i++) {
			memcpy(b, ud, n);
			b[i] ^= 0x20;
			(void)check(d_updown, b, n);
		}
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_crl),
		cmocka_unit_test(test_econtents),
		cmocka_unit_test(test_text_formats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
