/*
 * ca_tak: RFC 9691 signed TAL (TAK) encoder, strict decoder and EE cert
 * rules.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/tak.h"
#include "ca/tal.h"

/* 1 when p[0..n) is valid UTF-8 (shortest form, no surrogates). */
static int
utf8_ok(const uint8_t *p, size_t n)
{
	size_t		i = 0, k, more;
	uint32_t	cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			more = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			more = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			more = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < more)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += more + 1;
	}
	return 1;
}

static int
comment_check(const char *fn, const char *which, const uint8_t *s, size_t n,
    struct cm_err *err)
{
	size_t	i;

	if (n > CA_TAK_MAX_COMMENT)
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s comment longer "
		    "than %d octets", which, CA_TAK_MAX_COMMENT);
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return cm_err_set(err, CM_EINVAL, fn, "TAK %s comment "
			    "with a control character (a TAL comment is one "
			    "line)", which);
	if (!utf8_ok(s, n))
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s comment is not "
		    "valid UTF-8", which);
	return 0;
}

/* The rules of one TAKey (see tak.h), as held in k. */
static int
takey_check(const char *fn, const char *which, const struct ca_takey *k,
    struct cm_err *err)
{
	const char	*why;
	size_t		 i;

	if (k->ncomments > CA_TAK_MAX_COMMENTS)
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s: more than %d "
		    "comments", which, CA_TAK_MAX_COMMENTS);
	for (i = 0; i < k->ncomments; i++)
		if (comment_check(fn, which, (const uint8_t *)k->comments[i],
		    strlen(k->comments[i]), err) == -1)
			return -1;
	if (k->nuris == 0 || k->nuris > CA_TAK_MAX_URIS)
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s: need 1..%d "
		    "certificateURIs, have %zu (RFC 9691 §3)", which,
		    CA_TAK_MAX_URIS, k->nuris);
	for (i = 0; i < k->nuris; i++)
		if ((why = ca_tal_uri_check(k->uris[i],
		    strlen(k->uris[i]))) != NULL)
			return cm_err_set(err, CM_EINVAL, fn, "TAK %s "
			    "certificateURI %zu: %s", which, i + 1, why);
	if (k->key == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s: no key", which);
	if ((why = ca_tal_key_check(k->key)) != NULL)
		return cm_err_set(err, CM_EINVAL, fn, "TAK %s "
		    "subjectPublicKeyInfo: %s", which, why);
	return 0;
}

static int
tak_check(const char *fn, const struct ca_tak *t, struct cm_err *err)
{
	if (t->current == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "TAK without a current "
		    "key");
	if (takey_check(fn, "current", t->current, err) == -1 ||
	    (t->predecessor != NULL && takey_check(fn, "predecessor",
	    t->predecessor, err) == -1) ||
	    (t->successor != NULL && takey_check(fn, "successor", t->successor,
	    err) == -1))
		return -1;
	if (t->predecessor != NULL &&
	    EVP_PKEY_eq(t->predecessor->key, t->current->key) == 1)
		return cm_err_set(err, CM_EINVAL, fn, "TAK predecessor key is "
		    "the current key");
	if (t->successor != NULL &&
	    EVP_PKEY_eq(t->successor->key, t->current->key) == 1)
		return cm_err_set(err, CM_EINVAL, fn, "TAK successor key is "
		    "the current key");
	if (t->predecessor != NULL && t->successor != NULL &&
	    EVP_PKEY_eq(t->predecessor->key, t->successor->key) == 1)
		return cm_err_set(err, CM_EINVAL, fn, "TAK predecessor and "
		    "successor are the same key");
	return 0;
}

/* ---- encoding --------------------------------------------------------- */

static CA_TAKey *
build_takey(const struct ca_takey *k)
{
	CA_TAKey	*x;
	ASN1_STRING	*s;
	size_t		 i;

	if ((x = CA_TAKey_new()) == NULL)
		return NULL;
	for (i = 0; i < k->ncomments; i++) {
		if ((s = ASN1_UTF8STRING_new()) == NULL)
			goto fail;
		if (!ASN1_STRING_set(s, k->comments[i], -1) ||
		    !sk_ASN1_UTF8STRING_push(x->comments, s)) {
			ASN1_UTF8STRING_free(s);
			goto fail;
		}
	}
	for (i = 0; i < k->nuris; i++) {
		if ((s = ASN1_IA5STRING_new()) == NULL)
			goto fail;
		if (!ASN1_STRING_set(s, k->uris[i], -1) ||
		    !sk_ASN1_IA5STRING_push(x->certificateURIs, s)) {
			ASN1_IA5STRING_free(s);
			goto fail;
		}
	}
	X509_PUBKEY_free(x->subjectPublicKeyInfo);
	x->subjectPublicKeyInfo = NULL;
	if (!X509_PUBKEY_set(&x->subjectPublicKeyInfo, k->key))
		goto fail;
	return x;
fail:
	CA_TAKey_free(x);
	return NULL;
}

int
ca_tak_encode(const struct ca_tak *t, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	CA_TAK	*x;
	int	 rc = -1;

	if (tak_check("TAK", t, err) == -1)
		return -1;
	if ((x = CA_TAK_new()) == NULL)
		return cm_err_ssl(err, "TAK", "cannot build TAK");
	/* version: DEFAULT 0, so never encoded. */
	CA_TAKey_free(x->current);
	if ((x->current = build_takey(t->current)) == NULL ||
	    (t->predecessor != NULL &&
	    (x->predecessor = build_takey(t->predecessor)) == NULL) ||
	    (t->successor != NULL &&
	    (x->successor = build_takey(t->successor)) == NULL)) {
		cm_err_ssl(err, "TAK", "cannot build TAK");
		goto out;
	}
	rc = ca_asn1_i2d(x, ASN1_ITEM_rptr(CA_TAK), der, len, "TAK", err);
out:
	CA_TAK_free(x);
	return rc;
}

/* ---- decoding --------------------------------------------------------- */

static void
takey_free(struct ca_takey *k)
{
	size_t	i;

	if (k == NULL)
		return;
	for (i = 0; i < k->ncomments; i++)
		free(k->comments[i]);
	for (i = 0; i < k->nuris; i++)
		free(k->uris[i]);
	free(k->comments);
	free(k->uris);
	EVP_PKEY_free(k->key);
	free(k);
}

static char *
dup_string(const ASN1_STRING *s)
{
	char	*p;
	int	 n = ASN1_STRING_length(s);

	if ((p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(p, ASN1_STRING_get0_data(s), (size_t)n);
	p[n] = '\0';
	return p;
}

/* A string with an embedded NUL would be cut short by dup_string(). */
static int
has_nul(const ASN1_STRING *s)
{
	return memchr(ASN1_STRING_get0_data(s), 0,
	    (size_t)ASN1_STRING_length(s)) != NULL;
}

static int
decode_takey(const char *fn, const char *which, const CA_TAKey *x,
    struct ca_takey **out, struct cm_err *err)
{
	struct ca_takey		*k;
	const ASN1_STRING	*s;
	unsigned char		*re = NULL;
	const unsigned char	*spki;
	int			 i, n, relen, spkilen, rc = -1;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	n = sk_ASN1_UTF8STRING_num(x->comments);
	if (n > CA_TAK_MAX_COMMENTS) {
		cm_err_set(err, CM_EINVAL, fn, "TAK %s: more than %d comments",
		    which, CA_TAK_MAX_COMMENTS);
		goto out;
	}
	if (n > 0 && (k->comments = calloc((size_t)n, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < n; i++, k->ncomments++) {
		s = sk_ASN1_UTF8STRING_value(x->comments, i);
		if (comment_check(fn, which, ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), err) == -1)
			goto out;
		if ((k->comments[i] = dup_string(s)) == NULL)
			goto oom;
	}
	n = sk_ASN1_IA5STRING_num(x->certificateURIs);
	if (n < 1 || n > CA_TAK_MAX_URIS) {
		cm_err_set(err, CM_EINVAL, fn, "TAK %s: need 1..%d "
		    "certificateURIs, have %d (RFC 9691 §3)", which,
		    CA_TAK_MAX_URIS, n);
		goto out;
	}
	if ((k->uris = calloc((size_t)n, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < n; i++, k->nuris++) {
		s = sk_ASN1_IA5STRING_value(x->certificateURIs, i);
		if (has_nul(s)) {
			cm_err_set(err, CM_EINVAL, fn, "TAK %s certificateURI "
			    "%d: URI with a NUL character", which, i + 1);
			goto out;
		}
		if ((k->uris[i] = dup_string(s)) == NULL)
			goto oom;
	}
	if ((k->key = X509_PUBKEY_get(x->subjectPublicKeyInfo)) == NULL) {
		cm_err_ssl(err, fn, "TAK %s subjectPublicKeyInfo: not a "
		    "usable key", which);
		goto out;
	}
	/*
	 * RFC 7935: rsaEncryption with NULL parameters.  The re-encoding of
	 * the key is that canonical form; anything else differs from it.
	 */
	spki = NULL;
	spkilen = i2d_X509_PUBKEY(x->subjectPublicKeyInfo, (unsigned char **)
	    &spki);
	relen = i2d_PUBKEY(k->key, &re);
	if (spkilen <= 0 || relen != spkilen || memcmp(spki, re,
	    (size_t)relen) != 0) {
		OPENSSL_free((void *)spki);
		cm_err_set(err, CM_EINVAL, fn, "TAK %s subjectPublicKeyInfo: "
		    "not the RFC 7935 encoding (rsaEncryption, NULL "
		    "parameters)", which);
		goto out;
	}
	OPENSSL_free((void *)spki);
	if (takey_check(fn, which, k, err) == -1)
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
	goto out;
oom:
	cm_err_set(err, CM_ENOMEM, fn, "out of memory");
out:
	OPENSSL_free(re);
	takey_free(k);
	return rc;
}

int
ca_tak_decode(const char *fn, const uint8_t *der, size_t len,
    struct ca_tak **out, struct cm_err *err)
{
	CA_TAK		*x;
	struct ca_tak	*t = NULL;
	int		 rc = -1;

	x = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CA_TAK), fn, "TAK", err);
	if (x == NULL)
		return -1;
	if (x->version != NULL) {
		if (ASN1_INTEGER_get(x->version) == 0)
			cm_err_set(err, CM_EINVAL, fn, "TAK version 0 must be "
			    "omitted (DEFAULT 0, DER)");
		else
			cm_err_set(err, CM_EINVAL, fn, "TAK version must be 0 "
			    "(RFC 9691 §3)");
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	if (decode_takey(fn, "current", x->current, &t->current, err) == -1 ||
	    (x->predecessor != NULL && decode_takey(fn, "predecessor",
	    x->predecessor, &t->predecessor, err) == -1) ||
	    (x->successor != NULL && decode_takey(fn, "successor",
	    x->successor, &t->successor, err) == -1) ||
	    tak_check(fn, t, err) == -1)
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	ca_tak_free(t);
	CA_TAK_free(x);
	return rc;
}

/* Both RFC 3779 extensions present, every element "inherit". */
static int
inherits_all(X509 *ee)
{
	ASIdentifiers		*as;
	IPAddrBlocks		*ip;
	IPAddressFamily		*f;
	int			 i, ok;

	as = X509_get_ext_d2i(ee, NID_sbgp_autonomousSysNum, NULL, NULL);
	ip = X509_get_ext_d2i(ee, NID_sbgp_ipAddrBlock, NULL, NULL);
	ok = as != NULL && ip != NULL && as->rdi == NULL && as->asnum != NULL &&
	    as->asnum->type == ASIdentifierChoice_inherit &&
	    sk_IPAddressFamily_num(ip) > 0;
	for (i = 0; ok && i < sk_IPAddressFamily_num(ip); i++) {
		f = sk_IPAddressFamily_value(ip, i);
		ok = f->ipAddressChoice->type == IPAddressChoice_inherit;
	}
	ASIdentifiers_free(as);
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	return ok;
}

int
ca_tak_check_ee(const char *fn, const struct ca_tak *t, X509 *ee,
    struct cm_err *err)
{
	const ASN1_OCTET_STRING	*aki;
	X509_PUBKEY		*pk = NULL;
	const unsigned char	*bits;
	unsigned char		 md[SHA_DIGEST_LENGTH];
	int			 nbits, ok;

	if (!inherits_all(ee))
		return cm_err_set(err, CM_EINVAL, fn, "TAK EE cert resources "
		    "must be inherit (IP and AS, RFC 9691 §4)");
	if ((aki = X509_get0_authority_key_id(ee)) == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "TAK EE cert without "
		    "an AKI");
	ok = X509_PUBKEY_set(&pk, t->current->key) &&
	    X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, pk) &&
	    SHA1(bits, (size_t)nbits, md) != NULL;
	X509_PUBKEY_free(pk);
	if (!ok)
		return cm_err_ssl(err, fn, "TAK current key: cannot hash");
	if (ASN1_STRING_length(aki) != SHA_DIGEST_LENGTH ||
	    memcmp(ASN1_STRING_get0_data(aki), md, SHA_DIGEST_LENGTH) != 0)
		return cm_err_set(err, CM_EINVAL, fn, "TAK EE cert AKI is not "
		    "the SKI of the current key (RFC 9691 §4: the current key "
		    "signs the TAK)");
	return 0;
}

int
ca_tak_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_tak **out, X509 **ee, struct cm_err *err)
{
	struct ca_cms_parsed	 p;
	struct ca_tak		*t = NULL;
	int			 rc = -1;

	if (ca_cms_parse(fn, CA_OID_CT_TAK, der, len, &p, err))
		return -1;
	if (ca_tak_decode(fn, p.econtent, p.econtent_len, &t, err) ||
	    ca_tak_check_ee(fn, t, p.ee, err))
		goto out;
	if (ee != NULL) {
		*ee = p.ee;
		p.ee = NULL;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	ca_tak_free(t);
	ca_cms_parsed_free(&p);
	return rc;
}

void
ca_tak_free(struct ca_tak *t)
{
	if (t == NULL)
		return;
	takey_free(t->current);
	takey_free(t->predecessor);
	takey_free(t->successor);
	free(t);
}
