/*
 * ca_tak: RFC 9691 signed TAL.  Round trips of the eContent, one test per
 * rejection rule of the decoder (each input built with the ASN.1
 * templates, not by hand), the EE rules, a complete .tak from
 * ca_sigobj_tak(), and rpki-client 8.2 as the judge.
 *
 * What rpki-client 8.2 checks in file mode (-f, tak.c and parser of 8.2):
 * the CMS profile, eContentType id-ct-SignedTAL, the EE certificate (AIA,
 * AKI, SIA, SKI present; IP and AS inherit), the eContent (version
 * omitted or 0, at least one valid URI per TAKey, an RSA key), that the
 * current TAKey's SKI equals the EE certificate's AKI, and the chain
 * from the TA of the TAL through the CRL.
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

#include <openssl/rsa.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/sigobj.h"
#include "ca/tak.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "ca_objtest.h"
#include "ca_rpjudge.h"
#include "hsm/hsm.h"

#define T0	1795000000

struct fx {
	EVP_PKEY	*k1, *k2, *k3, *ee;
	struct hsm	*hsm;
	struct hsm_key	*cakey;
};

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;

	if (f == NULL)
		return -1;
	f->k1 = objtest_key();
	f->k2 = objtest_key();
	f->k3 = objtest_key();
	f->ee = objtest_key();
	f->hsm = hsm_open_mem();
	if (f->hsm == NULL || hsm_key_create(f->hsm, "ta", &f->cakey, &err))
		return -1;
	*state = f;
	return f->k1 && f->k2 && f->k3 && f->ee ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->k1);
	EVP_PKEY_free(f->k2);
	EVP_PKEY_free(f->k3);
	EVP_PKEY_free(f->ee);
	hsm_key_free(f->cakey);
	hsm_close(f->hsm);
	free(f);
	return 0;
}

static char *uris1[] = { "https://rpki.test/ta/ta.cer",
    "rsync://rpki.test/repo/ta-ta/ta.cer" };
static char *uris2[] = { "rsync://rpki.test/repo/ta-ta/ta-new.cer" };
static char *comments[] = { "Test trust anchor", "Caf\xc3\xa9 r\xc3\xa9seau" };

static void
decode_fails(const uint8_t *der, size_t len, const char *want)
{
	struct ca_tak	*t = NULL;
	struct cm_err	 err;

	assert_int_equal(ca_tak_decode("x.tak", der, len, &t, &err), -1);
	assert_null(t);
	assert_memory_equal(err.msg, "x.tak: ", 7);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
}

static void
same_key(const struct ca_takey *a, const struct ca_takey *b)
{
	size_t i;

	assert_int_equal(a->ncomments, b->ncomments);
	for (i = 0; i < a->ncomments; i++)
		assert_string_equal(a->comments[i], b->comments[i]);
	assert_int_equal(a->nuris, b->nuris);
	for (i = 0; i < a->nuris; i++)
		assert_string_equal(a->uris[i], b->uris[i]);
	assert_int_equal(EVP_PKEY_eq(a->key, b->key), 1);
}

static void
test_round_trip(void **state)
{
	struct fx	*f = *state;
	struct ca_takey	 cur = { comments, 2, uris1, 2, f->k1 };
	struct ca_takey	 succ = { NULL, 0, uris2, 1, f->k2 };
	struct ca_takey	 pred = { NULL, 0, uris2, 1, f->k3 };
	struct ca_tak	 t = { &cur, NULL, NULL }, *back;
	struct cm_err	 err;
	uint8_t		*der, *der2;
	size_t		 len, len2;

	/* Current only. */
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), 0);
	assert_int_equal(der[0], 0x30);
	assert_int_not_equal(der[2], 0xa0);	/* version omitted */
	assert_int_equal(ca_tak_decode("x.tak", der, len, &back, &err), 0);
	same_key(&cur, back->current);
	assert_null(back->predecessor);
	assert_null(back->successor);
	assert_int_equal(ca_tak_encode(back, &der2, &len2, &err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(der, der2, len);
	ca_tak_free(back);
	free(der);
	free(der2);

	/* All three: [0] predecessor and [1] successor after current. */
	t.predecessor = &pred;
	t.successor = &succ;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), 0);
	assert_int_equal(ca_tak_decode("x.tak", der, len, &back, &err), 0);
	same_key(&cur, back->current);
	same_key(&pred, back->predecessor);
	same_key(&succ, back->successor);
	assert_int_equal(ca_tak_encode(back, &der2, &len2, &err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(der, der2, len);
	ca_tak_free(back);
	ca_tak_free(NULL);
	free(der);
	free(der2);

	/* Successor only (the old key's TAK during a roll). */
	t.predecessor = NULL;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), 0);
	assert_int_equal(ca_tak_decode("x.tak", der, len, &back, &err), 0);
	assert_null(back->predecessor);
	same_key(&succ, back->successor);
	ca_tak_free(back);
	free(der);
}

static void
test_encode_rules(void **state)
{
	struct fx	*f = *state;
	char		*bad_uri[] = { "ftp://rpki.test/ta.cer" };
	char		*bad_comment[] = { "two\nlines" };
	char		*bad_utf8[] = { "\xc3(" };
	char		*many[CA_TAK_MAX_URIS + 1];
	struct ca_takey	 cur = { NULL, 0, uris1, 2, f->k1 };
	struct ca_takey	 other = { NULL, 0, uris2, 1, f->k1 };
	struct ca_tak	 t = { &cur, NULL, NULL };
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len, i;
	EVP_PKEY	*small;

	t.current = NULL;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "without a current key"));
	t.current = &cur;
	cur.nuris = 0;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "current: need 1..16 certificateURIs"));
	cur.uris = bad_uri;
	cur.nuris = 1;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "current certificateURI 1: URI "
	    "scheme"));
	for (i = 0; i <= CA_TAK_MAX_URIS; i++)
		many[i] = uris2[0];
	cur.uris = many;
	cur.nuris = CA_TAK_MAX_URIS + 1;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	cur.uris = uris1;
	cur.nuris = 2;
	cur.comments = bad_comment;
	cur.ncomments = 1;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "control character"));
	cur.comments = bad_utf8;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "not valid UTF-8"));
	cur.ncomments = 0;
	/* Successor or predecessor equal to current. */
	t.successor = &other;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "successor key is the current key"));
	t.successor = NULL;
	t.predecessor = &other;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "predecessor key is the current"));
	other.key = f->k2;
	t.successor = &other;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "predecessor and successor are the "
	    "same key"));
	t.successor = NULL;
	t.predecessor = NULL;
	/* RFC 7935 keys only. */
	assert_non_null(small = EVP_RSA_gen(1024));
	cur.key = small;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "current subjectPublicKeyInfo: RSA "
	    "modulus is not 2048 bits"));
	cur.key = NULL;
	assert_int_equal(ca_tak_encode(&t, &der, &len, &err), -1);
	EVP_PKEY_free(small);
}

/* A template TAKey for k with one URI (the caller frees it). */
static CA_TAKey *
raw_key(EVP_PKEY *k, const char *uri)
{
	CA_TAKey	*x = CA_TAKey_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

	assert_non_null(x);
	assert_true(ASN1_STRING_set(s, uri, -1));
	assert_true(sk_ASN1_IA5STRING_push(x->certificateURIs, s));
	X509_PUBKEY_free(x->subjectPublicKeyInfo);
	x->subjectPublicKeyInfo = NULL;
	assert_true(X509_PUBKEY_set(&x->subjectPublicKeyInfo, k));
	return x;
}

static void
raw_encode(CA_TAK *x, uint8_t **der, size_t *len)
{
	struct cm_err err;

	assert_int_equal(ca_asn1_i2d(x, ASN1_ITEM_rptr(CA_TAK), der, len, "t",
	    &err), 0);
}

static CA_TAK *
raw_tak(EVP_PKEY *k)
{
	CA_TAK	*x = CA_TAK_new();

	assert_non_null(x);
	CA_TAKey_free(x->current);
	x->current = raw_key(k, "rsync://rpki.test/repo/ta.cer");
	return x;
}

static void
test_decode_rules(void **state)
{
	struct fx	*f = *state;
	CA_TAK		*x;
	ASN1_UTF8STRING	*s;
	X509_ALGOR	*alg;
	uint8_t		*der, *big;
	size_t		 len;
	EVP_PKEY	*small;

	/* The baseline decodes. */
	x = raw_tak(f->k1);
	raw_encode(x, &der, &len);
	{
		struct ca_tak	*t;
		struct cm_err	 err;

		assert_int_equal(ca_tak_decode("x.tak", der, len, &t, &err), 0);
		ca_tak_free(t);
	}
	/* Trailing bytes, truncation, empty input. */
	assert_non_null(big = malloc(len + 1));
	memcpy(big, der, len);
	big[len] = 0;
	decode_fails(big, len + 1, "trailing");
	decode_fails(der, len - 1, "failed to parse TAK");
	decode_fails(der, 0, "bad length");
	/* BER: the outer length in a longer form than needed. */
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	big[0] = 0x30;
	big[1] = 0x83;
	big[2] = 0x00;
	memcpy(big + 3, der + 2, len - 2);
	decode_fails(big, len + 1, "TAK is not DER");
	free(big);
	free(der);

	/* version 0 encoded (not DER: DEFAULT), version 1. */
	assert_non_null(x->version = ASN1_INTEGER_new());
	raw_encode(x, &der, &len);
	decode_fails(der, len, "version 0 must be omitted");
	free(der);
	ASN1_INTEGER_set(x->version, 1);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "version must be 0");
	free(der);
	ASN1_INTEGER_free(x->version);
	x->version = NULL;

	/* No certificateURI; a bad one; one with a NUL. */
	sk_ASN1_IA5STRING_pop_free(x->current->certificateURIs,
	    ASN1_IA5STRING_free);
	x->current->certificateURIs = sk_ASN1_IA5STRING_new_null();
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current: need 1..16 certificateURIs, have 0");
	free(der);
	CA_TAK_free(x);
	x = raw_tak(f->k1);
	ASN1_STRING_set(sk_ASN1_IA5STRING_value(x->current->certificateURIs, 0),
	    "rsync://rpki.test/repo/ta.roa", -1);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current certificateURI 1: URI does not name a "
	    ".cer file");
	free(der);
	ASN1_STRING_set(sk_ASN1_IA5STRING_value(x->current->certificateURIs, 0),
	    "rsync://rpki.test/\0x.cer", 24);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "URI with a NUL");
	free(der);
	CA_TAK_free(x);

	/* Comments: control character, bad UTF-8, too long. */
	x = raw_tak(f->k1);
	s = ASN1_UTF8STRING_new();
	assert_true(sk_ASN1_UTF8STRING_push(x->current->comments, s));
	ASN1_STRING_set(s, "a\tb", -1);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current comment with a control character");
	free(der);
	ASN1_STRING_set(s, "\xed\xa0\x80", -1);		/* a surrogate */
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current comment is not valid UTF-8");
	free(der);
	assert_non_null(big = malloc(CA_TAK_MAX_COMMENT + 1));
	memset(big, 'a', CA_TAK_MAX_COMMENT + 1);
	ASN1_STRING_set(s, big, CA_TAK_MAX_COMMENT + 1);
	free(big);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "comment longer than 1024 octets");
	free(der);
	CA_TAK_free(x);

	/* Keys: too small; parameters absent; successor = current. */
	assert_non_null(small = EVP_RSA_gen(1024));
	x = raw_tak(small);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current subjectPublicKeyInfo: RSA modulus is "
	    "not 2048 bits");
	free(der);
	CA_TAK_free(x);
	EVP_PKEY_free(small);
	x = raw_tak(f->k1);
	X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg, x->current->
	    subjectPublicKeyInfo);
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_UNDEF,
	    NULL);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "current subjectPublicKeyInfo: not the RFC 7935 "
	    "encoding");
	free(der);
	CA_TAK_free(x);
	x = raw_tak(f->k1);
	x->successor = raw_key(f->k1, "rsync://rpki.test/repo/ta2.cer");
	raw_encode(x, &der, &len);
	decode_fails(der, len, "successor key is the current key");
	free(der);
	CA_TAKey_free(x->successor);
	x->successor = raw_key(f->k2, "rsync://rpki.test/repo/ta2.cer");
	x->predecessor = raw_key(f->k2, "rsync://rpki.test/repo/ta0.cer");
	raw_encode(x, &der, &len);
	decode_fails(der, len, "predecessor and successor are the same key");
	free(der);
	/* A bad predecessor is named as such. */
	CA_TAKey_free(x->successor);
	x->successor = NULL;
	ASN1_STRING_set(sk_ASN1_IA5STRING_value(x->predecessor->certificateURIs,
	    0), "rsync://x", -1);
	raw_encode(x, &der, &len);
	decode_fails(der, len, "predecessor certificateURI 1: URI without a "
	    "path");
	free(der);
	CA_TAK_free(x);
}

static void
spec(struct fx *f, X509 *ta, struct ca_sigobj_spec *s, time_t now)
{
	memset(s, 0, sizeof(*s));
	s->issuer = ta;
	s->issuer_key = f->cakey;
	s->ee_key = f->ee;
	ca_sigobj_set_serial(s, 0x4242);
	s->not_before = now - 3600;
	s->not_after = now + 30 * 86400;
	s->signing_time = now - 60;
	s->object_uri = "rsync://rpki.test/repo/ca/ta.tak";
	s->crl_uri = "rsync://rpki.test/repo/ca/ca.crl";
	s->issuer_uri = "rsync://rpki.test/repo/ta.cer";
}

static void
test_signed(void **state)
{
	struct fx		*f = *state;
	time_t			 now = T0;
	X509			*ta = rpjudge_issuer_ta(f->cakey, now), *ee = NULL;
	struct ca_takey		 cur = { NULL, 0, uris1, 2,
				     hsm_key_pubkey(f->cakey) };
	struct ca_takey		 succ = { NULL, 0, uris2, 1, f->k2 };
	struct ca_tak		 t = { &cur, NULL, &succ }, *back;
	struct ca_sigobj_spec	 s;
	struct cm_err		 err;
	uint8_t			*der;
	size_t			 len;

	assert_non_null(ta);
	spec(f, ta, &s, now);
	assert_int_equal(ca_sigobj_tak(&s, &t, &der, &len, &ee, &err), 0);
	assert_int_equal(ca_tak_parse("x.tak", der, len, &back, NULL, &err), 0);
	same_key(&cur, back->current);
	same_key(&succ, back->successor);
	assert_null(back->predecessor);
	ca_tak_free(back);
	/* The wrong file type. */
	assert_int_equal(ca_tak_parse("x.tak", der, len - 1, &back, NULL,
	    &err), -1);
	free(der);

	/* EE rules: AKI must be the current key's SKI. */
	cur.key = f->k1;
	assert_int_equal(ca_tak_check_ee("x.tak", &t, ee, &err), -1);
	assert_non_null(strstr(err.msg, "AKI is not the SKI of the current"));
	X509_free(ee);
	/* ...and the EE cert must inherit. */
	cur.key = f->k1;
	ee = objtest_ee(f->k1, f->ee, now, now + 86400, OT_ROA,
	    "critical,IPv4:192.0.2.0/24");
	assert_non_null(ee);
	assert_int_equal(ca_tak_check_ee("x.tak", &t, ee, &err), -1);
	assert_non_null(strstr(err.msg, "must be inherit"));
	X509_free(ee);
	ee = objtest_ee(f->k1, f->ee, now, now + 86400, OT_INHERIT, NULL);
	assert_non_null(ee);
	/* objtest_ee() adds no AKI. */
	assert_int_equal(ca_tak_check_ee("x.tak", &t, ee, &err), -1);
	assert_non_null(strstr(err.msg, "without an AKI"));
	X509_free(ee);
	/* The encoder's rules hold in ca_sigobj_tak() too. */
	cur.nuris = 0;
	assert_int_equal(ca_sigobj_tak(&s, &t, &der, &len, NULL, &err), -1);
	X509_free(ta);
}

/* ---- rpki-client 8.2 as the judge -------------------------------------- */

static void
test_rpki_client(void **state)
{
	struct fx		*f = *state;
	char			 dir[] = "/tmp/cairn-tak-XXXXXX";
	time_t			 now = time(NULL);
	X509			*ta = rpjudge_issuer_ta(f->cakey, now);
	struct ca_mft_file	 files[2];
	struct ca_mft		 m = { { 1 }, 1, now - 60, now + 86400, files, 2 };
	struct ca_takey		 cur = { comments, 1, uris1, 2,
				     hsm_key_pubkey(f->cakey) };
	struct ca_takey		 succ = { NULL, 0, uris2, 1, f->k2 };
	struct ca_tak		 t = { &cur, NULL, &succ };
	struct ca_sigobj_spec	 s;
	struct cm_err		 err;
	EVP_PKEY		*k2 = objtest_key();
	uint8_t			*der;
	size_t			 len;

	assert_non_null(ta);
	rpjudge_dir(dir, ta, f->cakey, now, &files[0]);
	spec(f, ta, &s, now);
	assert_int_equal(ca_sigobj_tak(&s, &t, &der, &len, NULL, &err), 0);
	rpjudge_put(dir, "ta.tak", der, len, &files[1]);
	free(der);
	rpjudge_mft(dir, &s, &m, k2);
	/* It prints the successor's URI when it read our eContent. */
	rpjudge_check(dir, "ta.tak", uris2[0]);
	rpjudge_rm(dir);
	EVP_PKEY_free(k2);
	X509_free(ta);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_encode_rules),
		cmocka_unit_test(test_decode_rules),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_rpki_client),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
