/*
 * RFC 8630 trust anchor locators: writing and strict parsing.
 *
 * Layout: optional "#" comment lines (only at the top), one or more https
 * or rsync URIs of the TA certificate, one empty line, and the base64 DER
 * SubjectPublicKeyInfo, possibly wrapped.  LF or CRLF line ends.
 */
#include "ca/tal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"

#define TAL_URI_MAX	4096	/* RFC 8183 URI limit */
#define TAL_SIZE_MAX	(1024 * 1024)

/* Last path component of a URI already checked by uri_check(). */
static const char *
uri_file(const char *u, size_t len, size_t *flen)
{
	const char	*p = u + len;

	while (p > u && p[-1] != '/')
		p--;
	*flen = len - (size_t)(p - u);
	return p;
}

/*
 * Checks one TA certificate URI of len bytes: https or rsync scheme, a
 * host, printable ASCII without spaces, a path ending in a ".cer" file.
 * Returns NULL or the rule it breaks.
 */
static const char *
uri_check(const char *u, size_t len)
{
	const char	*host;
	const char	*f;
	size_t		 flen;

	if (len > TAL_URI_MAX)
		return "URI longer than 4096 characters";
	for (size_t i = 0; i < len; i++)
		if (u[i] <= 0x20 || u[i] >= 0x7f)
			return "URI with a space or non-printable character";
	if (len >= 8 && strncmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (len >= 8 && strncmp(u, "rsync://", 8) == 0)
		host = u + 8;
	else
		return "URI scheme is not https or rsync (RFC 8630 §2.2)";
	if (host == u + len || *host == '/')
		return "URI without a host";
	if (memchr(host, '/', len - (size_t)(host - u)) == NULL)
		return "URI without a path";
	f = uri_file(u, len, &flen);
	if (flen <= 4 || memcmp(f + flen - 4, ".cer", 4) != 0)
		return "URI does not name a .cer file (RFC 8630 §2.2)";
	return NULL;
}

/* RFC 7935 §3: RSA, 2048-bit modulus, exponent 65537.  NULL or the rule. */
static const char *
key_check(EVP_PKEY *key)
{
	BIGNUM		*e = NULL;
	const char	*why = NULL;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return "key is not RSA (RFC 7935 §3)";
	if (EVP_PKEY_get_bits(key) != 2048)
		why = "RSA modulus is not 2048 bits (RFC 7935 §3)";
	else if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    !BN_is_word(e, 65537))
		why = "RSA exponent is not 65537 (RFC 7935 §3)";
	BN_free(e);
	return why;
}

const char *
ca_tal_uri_check(const char *uri, size_t len)
{
	return uri_check(uri, len);
}

const char *
ca_tal_key_check(EVP_PKEY *key)
{
	return key_check(key);
}

int
ca_tal_write(const char *const *comments, size_t ncomments,
    const char *const *uris, size_t nuris, EVP_PKEY *key, char **out,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT, k = CM_BUF_INIT;
	unsigned char	*der = NULL;
	const char	*why, *f0 = NULL, *f;
	size_t		 f0len = 0, flen;
	int		 len, rc = -1;

	*out = NULL;
	if (nuris == 0)
		return cm_err_set(err, CM_EINVAL, "TAL", "no URI (RFC 8630 "
		    "§2.2)");
	for (size_t i = 0; i < ncomments; i++)
		for (const char *c = comments[i]; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return cm_err_set(err, CM_EINVAL, "TAL",
				    "comment %zu: control character", i + 1);
	for (size_t i = 0; i < nuris; i++) {
		if ((why = uri_check(uris[i], strlen(uris[i]))) != NULL)
			return cm_err_set(err, CM_EINVAL, "TAL", "%s: %s",
			    uris[i], why);
		f = uri_file(uris[i], strlen(uris[i]), &flen);
		if (f0 != NULL && (flen != f0len || memcmp(f, f0, flen) != 0))
			return cm_err_set(err, CM_EINVAL, "TAL", "%s: URIs "
			    "name different files", uris[i]);
		f0 = f;
		f0len = flen;
	}
	if (key == NULL || (why = key_check(key)) != NULL)
		return cm_err_set(err, CM_EINVAL, "TAL", "%s",
		    key == NULL ? "no key" : why);
	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		return cm_err_ssl(err, "TAL", "encoding the public key");
	for (size_t i = 0; i < ncomments; i++)
		if (cm_buf_printf(&b, "# %s\n", comments[i]) == -1)
			goto nomem;
	for (size_t i = 0; i < nuris; i++)
		if (cm_buf_printf(&b, "%s\n", uris[i]) == -1)
			goto nomem;
	if (cm_buf_puts(&b, "\n") == -1 ||
	    cm_b64_encode(der, (size_t)len, &k) == -1)
		goto nomem;
	for (size_t off = 0; off < k.len; off += 64)
		if (cm_buf_add(&b, k.data + off, k.len - off < 64 ?
		    k.len - off : 64) == -1 || cm_buf_puts(&b, "\n") == -1)
			goto nomem;
	if (cm_buf_cstr(&b) == NULL)
		goto nomem;
	*out = (char *)cm_buf_steal(&b, NULL);
	rc = 0;
	goto out;
nomem:
	cm_err_set(err, CM_ENOMEM, "TAL", "out of memory");
out:
	OPENSSL_free(der);
	cm_buf_free(&b);
	cm_buf_free(&k);
	return rc;
}

void
ca_tal_free(struct ca_tal *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nuris; i++)
		free(t->uris[i]);
	free(t->uris);
	EVP_PKEY_free(t->key);
	free(t);
}

/* Cursor over the lines of the file; CR before LF is dropped. */
struct lines {
	const char	*p, *end;
	size_t		 no;		/* number of the last line returned */
};

static int
next_line(struct lines *l, const char **s, size_t *len)
{
	const char	*e;

	if (l->p >= l->end)
		return 0;
	e = memchr(l->p, '\n', (size_t)(l->end - l->p));
	*s = l->p;
	*len = (size_t)((e == NULL ? l->end : e) - l->p);
	l->p = e == NULL ? l->end : e + 1;
	if (*len > 0 && (*s)[*len - 1] == '\r')
		(*len)--;
	l->no++;
	return 1;
}

static int
add_uri(struct ca_tal *t, const char *s, size_t len)
{
	char	**nu;

	if ((nu = reallocarray(t->uris, t->nuris + 1, sizeof(*nu))) == NULL)
		return -1;
	t->uris = nu;
	if ((t->uris[t->nuris] = strndup(s, len)) == NULL)
		return -1;
	t->nuris++;
	return 0;
}

/* Reads the URI lines up to and including the empty separator line. */
static int
parse_uris(const char *fn, struct lines *l, struct ca_tal *t,
    struct cm_err *err)
{
	const char	*s, *why, *f, *f0 = NULL;
	size_t		 len, flen, f0len = 0;
	int		 top = 1;

	for (;;) {
		if (!next_line(l, &s, &len))
			return cm_err_set(err, CM_EINVAL, fn, "no empty line "
			    "before the public key (RFC 8630 §2.2)");
		if (len > 0 && s[0] == '#') {
			if (!top)
				return cm_err_set(err, CM_EINVAL, fn, "line %zu:"
				    " comment after a URI (RFC 8630 §2.2)",
				    l->no);
			continue;
		}
		top = 0;
		if (len == 0)
			break;
		if ((why = uri_check(s, len)) != NULL)
			return cm_err_set(err, CM_EINVAL, fn, "line %zu: %s",
			    l->no, why);
		f = uri_file(s, len, &flen);
		if (f0 != NULL && (flen != f0len || memcmp(f, f0, flen) != 0))
			return cm_err_set(err, CM_EINVAL, fn, "line %zu: URIs "
			    "name different files (RFC 8630 §2.2)", l->no);
		f0 = f;
		f0len = flen;
		if (add_uri(t, s, len) == -1)
			return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	}
	if (t->nuris == 0)
		return cm_err_set(err, CM_EINVAL, fn, "no URI (RFC 8630 §2.2)");
	return 0;
}

static int
is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Decodes the base64 lines; only empty lines may follow them. */
static int
parse_key(const char *fn, struct lines *l, struct ca_tal *t,
    struct cm_err *err)
{
	struct cm_buf	 b64 = CM_BUF_INIT, der = CM_BUF_INIT;
	const unsigned char *p;
	unsigned char	*re = NULL;
	const char	*s, *why;
	size_t		 len;
	int		 rc = -1, relen, ended = 0;

	while (next_line(l, &s, &len)) {
		if (len == 0 && b64.len == 0) {
			cm_err_set(err, CM_EINVAL, fn, "line %zu: more than "
			    "one empty line before the public key (RFC 8630 "
			    "§2.2)", l->no);
			goto out;
		}
		if (len == 0) {
			ended = 1;	/* only empty lines may follow */
			continue;
		}
		if (ended) {
			cm_err_set(err, CM_EINVAL, fn, "line %zu: data after "
			    "the public key", l->no);
			goto out;
		}
		for (size_t i = 0; i < len; i++)
			if (!is_b64(s[i])) {
				cm_err_set(err, CM_EINVAL, fn, "line %zu: not "
				    "base64 (RFC 8630 §2.2)", l->no);
				goto out;
			}
		if (cm_buf_add(&b64, s, len) == -1)
			goto nomem;
	}
	if (b64.len == 0) {
		cm_err_set(err, CM_EINVAL, fn, "no public key (RFC 8630 §2.2)");
		goto out;
	}
	if (cm_b64_decode((const char *)b64.data, b64.len, &der, err) == -1) {
		cm_err_wrap(err, fn);
		goto out;
	}
	p = der.data;
	t->key = d2i_PUBKEY(NULL, &p, (long)der.len);
	if (t->key == NULL || p != der.data + der.len) {
		cm_err_set(err, CM_EINVAL, fn, "public key: not a "
		    "SubjectPublicKeyInfo or trailing bytes (RFC 8630 §2.2)");
		goto out;
	}
	relen = i2d_PUBKEY(t->key, &re);
	if (relen < 0 || (size_t)relen != der.len ||
	    memcmp(re, der.data, der.len) != 0) {
		cm_err_set(err, CM_EINVAL, fn, "public key: not DER");
		goto out;
	}
	if ((why = key_check(t->key)) != NULL) {
		cm_err_set(err, CM_EINVAL, fn, "public key: %s", why);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	cm_err_set(err, CM_ENOMEM, fn, "out of memory");
out:
	OPENSSL_free(re);
	cm_buf_free(&b64);
	cm_buf_free(&der);
	return rc;
}

int
ca_tal_parse(const char *fn, const char *buf, size_t len,
    struct ca_tal **out, struct cm_err *err)
{
	struct ca_tal	*t = NULL;
	struct lines	 l = { buf, buf + len, 0 };
	int		 rc = -1;

	*out = NULL;
	if (len > TAL_SIZE_MAX)
		return cm_err_set(err, CM_EINVAL, fn, "larger than %d bytes",
		    TAL_SIZE_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return cm_err_set(err, CM_EINVAL, fn, "NUL byte in TAL");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	if (parse_uris(fn, &l, t, err) == -1 || parse_key(fn, &l, t, err) == -1)
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	ca_tal_free(t);
	return rc;
}
