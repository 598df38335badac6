/*
 * ca_tal: RFC 8630 layout written byte for byte, write/parse round trips
 * (LF and CRLF, other wrappings), real RIR TALs (tests/data/tal), every
 * parse and write error, and rpki-client agreeing with what is written.
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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "ca/tal.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"

static EVP_PKEY	*key2048, *key1024, *keyec, *keye3;

static const char *const uris[] = { "https://rpki.example.net/ta/ta.cer",
    "rsync://rpki.example.net/ta/ta.cer" };

static EVP_PKEY *
rsa_e3(void)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY	*k = NULL;
	BIGNUM		*e = BN_new();

	if (c != NULL && e != NULL && BN_set_word(e, 3) &&
	    EVP_PKEY_keygen_init(c) > 0 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) > 0 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, e) > 0)
		EVP_PKEY_keygen(c, &k);
	BN_free(e);
	EVP_PKEY_CTX_free(c);
	return k;
}

static int
setup(void **state)
{
	key2048 = EVP_RSA_gen(2048);
	key1024 = EVP_RSA_gen(1024);
	keyec = EVP_EC_gen("P-256");
	keye3 = rsa_e3();
	return key2048 && key1024 && keyec && keye3 ? 0 : -1;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(key2048);
	EVP_PKEY_free(key1024);
	EVP_PKEY_free(keyec);
	EVP_PKEY_free(keye3);
	return 0;
}

static char *
write_tal(size_t ncomments, size_t nuris)
{
	static const char *const comments[] = { "Cairn test TA",
	    "second line" };
	struct cm_err	 err;
	char		*s;

	if (ca_tal_write(comments, ncomments, uris, nuris, key2048, &s,
	    &err) != 0)
		fail_msg("%s", err.msg);
	return s;
}

/* Base64 of the DER SPKI of k, unwrapped. */
static char *
spki_b64(EVP_PKEY *k)
{
	struct cm_buf	 b = CM_BUF_INIT;
	unsigned char	*der = NULL;
	int		 n = i2d_PUBKEY(k, &der);

	assert_true(n > 0);
	assert_int_equal(cm_b64_encode(der, (size_t)n, &b), 0);
	assert_non_null(cm_buf_cstr(&b));
	OPENSSL_free(der);
	return (char *)cm_buf_steal(&b, NULL);
}

static void
test_write_layout(void **state)
{
	const char	*head = "# Cairn test TA\n# second line\n"
	    "https://rpki.example.net/ta/ta.cer\n"
	    "rsync://rpki.example.net/ta/ta.cer\n\n";
	char		*s = write_tal(2, 2), *b64 = spki_b64(key2048);
	char		*p, *nl;
	size_t		 off = 0, l;

	assert_memory_equal(s, head, strlen(head));
	/* 64-column lines, the last one shorter, each ending in LF. */
	for (p = s + strlen(head); *p != '\0'; p = nl + 1) {
		assert_non_null(nl = strchr(p, '\n'));
		l = (size_t)(nl - p);
		assert_memory_equal(p, b64 + off, l);
		off += l;
		if (nl[1] != '\0')
			assert_int_equal(l, 64);
		else
			assert_true(l > 0 && l <= 64);
	}
	assert_int_equal(off, strlen(b64));
	free(s);
	free(b64);
}

static void
check_parse_ok(const char *text, size_t nuris)
{
	struct ca_tal	*t;
	struct cm_err	 err;

	if (ca_tal_parse("x.tal", text, strlen(text), &t, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(t->nuris, nuris);
	for (size_t i = 0; i < nuris; i++)
		assert_string_equal(t->uris[i], uris[i]);
	assert_int_equal(EVP_PKEY_eq(t->key, key2048), 1);
	ca_tal_free(t);
}

/* Rewrites text with CRLF line ends. */
static char *
crlf(const char *text)
{
	char	*o = malloc(strlen(text) * 2 + 1), *q = o;

	assert_non_null(o);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	*q = '\0';
	return o;
}

static void
test_roundtrip(void **state)
{
	char		*s, *c, *b64 = spki_b64(key2048), buf[4096];
	struct ca_tal	*t;
	struct cm_err	 err;

	s = write_tal(2, 2);
	check_parse_ok(s, 2);
	c = crlf(s);
	check_parse_ok(c, 2);
	free(c);
	free(s);
	s = write_tal(0, 1);
	assert_memory_equal(s, "https://", 8);
	check_parse_ok(s, 1);
	free(s);

	/* Unwrapped key, no final newline, trailing empty lines. */
	snprintf(buf, sizeof(buf), "%s\n\n%s", uris[0], b64);
	check_parse_ok(buf, 1);
	snprintf(buf, sizeof(buf), "%s\n%s\n\n%s\n\n\n", uris[0], uris[1],
	    b64);
	check_parse_ok(buf, 2);
	/* Wrapped at 76 columns. */
	snprintf(buf, sizeof(buf), "#\n%s\n\n%.76s\n%s\n", uris[1], b64,
	    b64 + 76);
	assert_int_equal(ca_tal_parse("x.tal", buf, strlen(buf), &t, &err), 0);
	assert_int_equal(t->nuris, 1);
	assert_string_equal(t->uris[0], uris[1]);
	ca_tal_free(t);
	ca_tal_free(NULL);
	free(b64);
}

/* The RIR TALs shipped by Debian's rpki-trust-anchors, as captured. */
static void
test_real_tals(void **state)
{
	static const char *const files[] = { "ripe.tal", "apnic.tal" };
	static const char *const first[] = {
	    "https://rpki.ripe.net/ta/ripe-ncc-ta.cer",
	    "https://rpki.apnic.net/repository/"
	    "apnic-rpki-root-iana-origin.cer" };
	char		 path[1024];
	struct cm_buf	 b = CM_BUF_INIT;
	struct ca_tal	*t;
	struct cm_err	 err;

	for (size_t i = 0; i < 2; i++) {
		FILE	*f;
		char	 chunk[4096];
		size_t	 n;

		snprintf(path, sizeof(path), "%s/tal/%s", CAIRN_TEST_DATA,
		    files[i]);
		assert_non_null(f = fopen(path, "r"));
		cm_buf_reset(&b);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			assert_int_equal(cm_buf_add(&b, chunk, n), 0);
		fclose(f);
		if (ca_tal_parse(files[i], (const char *)b.data, b.len, &t,
		    &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(t->nuris, 2);
		assert_string_equal(t->uris[0], first[i]);
		assert_memory_equal(t->uris[1], "rsync://", 8);
		assert_int_equal(EVP_PKEY_get_base_id(t->key), EVP_PKEY_RSA);
		assert_int_equal(EVP_PKEY_get_bits(t->key), 2048);
		ca_tal_free(t);
	}
	cm_buf_free(&b);
}

static void
check_bad(const char *text, size_t len, const char *why)
{
	struct ca_tal	*t = (struct ca_tal *)1;
	struct cm_err	 err;

	if (ca_tal_parse("x.tal", text, len, &t, &err) != -1)
		fail_msg("accepted: %.*s", (int)len, text);
	assert_null(t);
	assert_int_equal(err.code, CM_EINVAL);
	assert_memory_equal(err.msg, "x.tal: ", 7);
	if (strstr(err.msg, why) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, why);
}

static void
check_bad_s(const char *text, const char *why)
{
	check_bad(text, strlen(text), why);
}

/* A TAL made of head, then the base64 of the SPKI DER of k plus extra. */
static void
check_bad_key(EVP_PKEY *k, const uint8_t *extra, size_t nextra,
    const char *why)
{
	struct cm_buf	 b = CM_BUF_INIT;
	unsigned char	*der = NULL;
	int		 n = i2d_PUBKEY(k, &der);
	uint8_t		 tmp[1024];

	assert_true(n > 0 && (size_t)n + nextra <= sizeof(tmp));
	memcpy(tmp, der, (size_t)n);
	if (nextra > 0)
		memcpy(tmp + n, extra, nextra);
	assert_int_equal(cm_buf_printf(&b, "%s\n\n", uris[0]), 0);
	assert_int_equal(cm_b64_encode(tmp, (size_t)n + nextra, &b), 0);
	assert_int_equal(cm_buf_puts(&b, "\n"), 0);
	check_bad((const char *)b.data, b.len, why);
	cm_buf_free(&b);
	OPENSSL_free(der);
}

static void
test_parse_errors(void **state)
{
	char		 *b64 = spki_b64(key2048), buf[4096];
	static const uint8_t zz[] = { 0, 0 };
	unsigned char	 *der = NULL;
	int		  n;

	check_bad_s("", "no empty line");
	check_bad_s("# only a comment\n", "no empty line");
	snprintf(buf, sizeof(buf), "\n%s\n", b64);
	check_bad_s(buf, "no URI");
	snprintf(buf, sizeof(buf), "# c\n\n%s\n", b64);
	check_bad_s(buf, "no URI");
	snprintf(buf, sizeof(buf), "%s\n", uris[0]);
	check_bad_s(buf, "no empty line");
	snprintf(buf, sizeof(buf), "%s\n%s\n", uris[0], b64);
	check_bad_s(buf, "scheme");
	snprintf(buf, sizeof(buf), "ftp://a.example/ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "scheme is not https or rsync");
	snprintf(buf, sizeof(buf), "http://a.example/ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "scheme is not https or rsync");
	snprintf(buf, sizeof(buf), "HTTPS://a.example/ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "scheme");
	snprintf(buf, sizeof(buf), "https://a.example/ta.crt\n\n%s\n", b64);
	check_bad_s(buf, ".cer");
	snprintf(buf, sizeof(buf), "https://a.example/.cer\n\n%s\n", b64);
	check_bad_s(buf, ".cer");
	snprintf(buf, sizeof(buf), "https://a.example/ta/\n\n%s\n", b64);
	check_bad_s(buf, ".cer");
	snprintf(buf, sizeof(buf), "https:///ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "host");
	snprintf(buf, sizeof(buf), "https://a.example\n\n%s\n", b64);
	check_bad_s(buf, "path");
	snprintf(buf, sizeof(buf), "https://a example/ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "space");
	snprintf(buf, sizeof(buf), " https://a.example/ta.cer\n\n%s\n", b64);
	check_bad_s(buf, "space");
	snprintf(buf, sizeof(buf), "https://a.example/ta.cer\r\r\n\n%s\n",
	    b64);
	check_bad_s(buf, "non-printable");
	snprintf(buf, sizeof(buf), "https://a/x.cer\nrsync://a/y.cer\n\n%s\n",
	    b64);
	check_bad_s(buf, "different files");
	snprintf(buf, sizeof(buf), "%s\n# late\n\n%s\n", uris[0], b64);
	check_bad_s(buf, "comment after a URI");
	snprintf(buf, sizeof(buf), "%s\n\n\n%s\n", uris[0], b64);
	check_bad_s(buf, "more than one empty line");
	snprintf(buf, sizeof(buf), "%s\n\n%s\n\ngarbage\n", uris[0], b64);
	check_bad_s(buf, "data after the public key");
	snprintf(buf, sizeof(buf), "%s\n\n%.64s\n\n%s\n", uris[0], b64,
	    b64 + 64);
	check_bad_s(buf, "data after the public key");
	snprintf(buf, sizeof(buf), "%s\n\n%s\n", uris[0], "MIIB IjAN");
	check_bad_s(buf, "not base64");
	snprintf(buf, sizeof(buf), "%s\n\n%s!\n", uris[0], b64);
	check_bad_s(buf, "not base64");
	snprintf(buf, sizeof(buf), "%s\n\n%.*s\n", uris[0],
	    (int)strlen(b64) - 1, b64);
	check_bad_s(buf, "base64");
	snprintf(buf, sizeof(buf), "%s\n\n", uris[0]);
	check_bad_s(buf, "no public key");
	snprintf(buf, sizeof(buf), "%s\n\nAAAA\n", uris[0]);
	check_bad_s(buf, "not a SubjectPublicKeyInfo");
	snprintf(buf, sizeof(buf), "%s\n\n%s\n", uris[0], b64);
	buf[10] = '\0';
	check_bad(buf, strlen(buf + 11) + 11, "NUL byte");

	check_bad_key(key2048, zz, sizeof(zz), "trailing bytes");
	check_bad_key(keyec, NULL, 0, "not RSA");
	check_bad_key(key1024, NULL, 0, "2048");
	check_bad_key(keye3, NULL, 0, "65537");

	/* BER: the AlgorithmIdentifier length in long form. */
	n = i2d_PUBKEY(key2048, &der);
	{
		uint8_t		ber[512];
		struct cm_buf	b = CM_BUF_INIT;

		assert_true(n == 294 && der[4] == 0x30 && der[5] == 0x0d);
		memcpy(ber, der, 5);
		ber[3]++;			/* outer length + 1 */
		ber[5] = 0x81;
		ber[6] = 0x0d;
		memcpy(ber + 7, der + 6, (size_t)n - 6);
		assert_int_equal(cm_buf_printf(&b, "%s\n\n", uris[0]), 0);
		assert_int_equal(cm_b64_encode(ber, (size_t)n + 1, &b), 0);
		check_bad((const char *)b.data, b.len, "public key");
		cm_buf_free(&b);
	}
	OPENSSL_free(der);
	free(b64);
}

static void
check_write_bad(const char *const *c, size_t nc, const char *const *u,
    size_t nu, EVP_PKEY *k, const char *why)
{
	struct cm_err	 err;
	char		*s = (char *)1;

	assert_int_equal(ca_tal_write(c, nc, u, nu, k, &s, &err), -1);
	assert_null(s);
	if (strstr(err.msg, why) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, why);
}

static void
test_write_errors(void **state)
{
	static const char *const nl[] = { "two\nlines" };
	static const char *const ftp[] = { "ftp://a.example/ta.cer" };
	static const char *const diff[] = { "https://a.example/ta.cer",
	    "rsync://a.example/other.cer" };

	check_write_bad(NULL, 0, uris, 0, key2048, "no URI");
	check_write_bad(nl, 1, uris, 2, key2048, "control character");
	check_write_bad(NULL, 0, ftp, 1, key2048, "scheme");
	check_write_bad(NULL, 0, diff, 2, key2048, "different files");
	check_write_bad(NULL, 0, uris, 2, keyec, "not RSA");
	check_write_bad(NULL, 0, uris, 2, key1024, "2048");
	check_write_bad(NULL, 0, uris, 2, NULL, "no key");
}

/* rpki-client (filemode) reads what ca_tal_write() produces. */
static void
test_rpki_client(void **state)
{
	char		 dir[] = "/tmp/cairn-tal-XXXXXX", cmd[512], line[512];
	char		 ski[3 * SHA_DIGEST_LENGTH], *s = write_tal(1, 2);
	int		 seen_uri[2] = { 0, 0 }, seen_ski = 0;
	unsigned char	*der = NULL;
	const unsigned char *p;
	X509_PUBKEY	*xp;
	const unsigned char *bits;
	int		 n, blen;
	unsigned char	 md[SHA_DIGEST_LENGTH];
	FILE		*f;

	/* rpki-client prints the SKI: SHA-1 of the subjectPublicKey bits. */
	n = i2d_PUBKEY(key2048, &der);
	p = der;
	assert_non_null(xp = d2i_X509_PUBKEY(NULL, &p, n));
	assert_true(X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, xp));
	SHA1(bits, (size_t)blen, md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(ski + 3 * i, 4, "%02X%s", md[i],
		    i + 1 < SHA_DIGEST_LENGTH ? ":" : "");
	X509_PUBKEY_free(xp);
	OPENSSL_free(der);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(cmd, sizeof(cmd), "%s/test.tal", dir);
	assert_non_null(f = fopen(cmd, "w"));
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "cd %s && mkdir cache && timeout 60 "
	    "rpki-client -t test.tal -d %s/cache -f test.tal 2>/dev/null",
	    dir, dir);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		for (int i = 0; i < 2; i++)
			if (strstr(line, uris[i]) != NULL)
				seen_uri[i] = 1;
		if (strstr(line, "Subject key identifier:") != NULL &&
		    strstr(line, ski) != NULL)
			seen_ski = 1;
	}
	assert_int_equal(pclose(f), 0);
	if (!seen_uri[0] || !seen_uri[1] || !seen_ski)
		fail_msg("rpki-client did not accept the TAL (uris %d %d, "
		    "ski %d)", seen_uri[0], seen_uri[1], seen_ski);

	/* The oracle itself rejects a TAL with a foreign scheme. */
	snprintf(cmd, sizeof(cmd), "cd %s && sed 's,^https:,ftp:,' test.tal "
	    "> bad.tal && timeout 60 rpki-client -t bad.tal -d %s/cache -f "
	    "bad.tal 2>/dev/null", dir, dir);
	assert_non_null(f = popen(cmd, "r"));
	seen_ski = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "Subject key identifier:") != NULL)
			seen_ski = 1;
	pclose(f);
	assert_int_equal(seen_ski, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_real_tals),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_rpki_client),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
