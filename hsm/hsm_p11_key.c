/*
 * PKCS#11 backend, key objects: generation on the token, look-up by CKA_ID,
 * destruction, and signing a SHA-256 digest with CKM_RSA_PKCS.
 */
#include "hsm/hsm_p11.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/cm_enc.h"
#include "common/cm_log.h"

/*
 * Finds the one object of class cls with CKA_ID = the key id.  Returns 0,
 * or -1 with err (CM_ENOTFOUND if there is none).
 */
static int
find_obj(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *id, CK_OBJECT_HANDLE *out, CK_RV *rvp, struct cm_err *err)
{
	uint8_t			raw[HSM_KEY_ID_LEN / 2];
	CK_KEY_TYPE		kt = CKK_RSA;
	CK_ATTRIBUTE		tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_ID, raw, sizeof(raw) },
	};
	CK_OBJECT_HANDLE	objs[2];
	CK_ULONG		n = 0;
	CK_RV			rv;

	if (cm_hex_decode(id, raw, sizeof(raw)) == -1)
		return cm_err_set(err, CM_EINVAL, id, "not a key id");
	if ((rv = st->f->C_FindObjectsInit(s, tmpl, 3)) != CKR_OK) {
		*rvp = rv;
		return hsm__p11_fail(st, err, "C_FindObjectsInit", rv);
	}
	rv = st->f->C_FindObjects(s, objs, 2, &n);
	st->f->C_FindObjectsFinal(s);
	if ((*rvp = rv) != CKR_OK)
		return hsm__p11_fail(st, err, "C_FindObjects", rv);
	if (n == 0)
		return cm_err_set(err, CM_ENOTFOUND, id, "%s: no %s key with "
		    "this CKA_ID", st->name, cls == CKO_PRIVATE_KEY ? "private" :
		    "public");
	if (n > 1)
		return cm_err_set(err, CM_EEXIST, id, "%s: several %s keys "
		    "have this CKA_ID", st->name, cls == CKO_PRIVATE_KEY ?
		    "private" : "public");
	*out = objs[0];
	return 0;
}

/* Reads one variable-length attribute into a malloc'd buffer. */
static int
get_attr(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, uint8_t **out, CK_ULONG *len, CK_RV *rvp,
    struct cm_err *err)
{
	CK_ATTRIBUTE	a = { type, NULL, 0 };
	CK_RV		rv;

	if ((rv = st->f->C_GetAttributeValue(s, o, &a, 1)) == CKR_OK) {
		if (a.ulValueLen == 0 || a.ulValueLen > 1024)
			return cm_err_set(err, CM_ECRYPTO, st->name, "attribute "
			    "0x%lx has a bad length", (unsigned long)type);
		if ((a.pValue = malloc(a.ulValueLen)) == NULL)
			return cm_err_set(err, CM_ENOMEM, st->name, "out of memory");
		rv = st->f->C_GetAttributeValue(s, o, &a, 1);
	}
	if ((*rvp = rv) != CKR_OK) {
		free(a.pValue);
		return hsm__p11_fail(st, err, "C_GetAttributeValue", rv);
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

/*
 * Builds the public key of object o from CKA_MODULUS and CKA_PUBLIC_EXPONENT
 * (readable on both halves of an RSA key) and checks the RFC 7935 profile.
 */
static EVP_PKEY *
read_pub(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_RV *rvp, struct cm_err *err)
{
	uint8_t		*mod = NULL, *exp = NULL;
	CK_ULONG	 nmod, nexp;
	BIGNUM		*n = NULL, *e = NULL;
	OSSL_PARAM_BLD	*b = NULL;
	OSSL_PARAM	*par = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;

	if (get_attr(st, s, o, CKA_MODULUS, &mod, &nmod, rvp, err) == -1 ||
	    get_attr(st, s, o, CKA_PUBLIC_EXPONENT, &exp, &nexp, rvp, err) == -1)
		goto out;
	if ((n = BN_bin2bn(mod, (int)nmod, NULL)) == NULL ||
	    (e = BN_bin2bn(exp, (int)nexp, NULL)) == NULL) {
		cm_err_ssl(err, st->name, "cannot read the public key");
		goto out;
	}
	if (BN_num_bits(n) != 2048 || !BN_is_word(e, RSA_F4)) {
		cm_err_set(err, CM_EINVAL, st->name, "key is RSA-%d with "
		    "another exponent than 65537 or another size than 2048 "
		    "bits (RFC 7935 requires RSA-2048, e = 65537)", BN_num_bits(n));
		goto out;
	}
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (par = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, par) <= 0) {
		pk = NULL;
		cm_err_ssl(err, st->name, "cannot build the public key");
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(par);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	free(mod);
	free(exp);
	return pk;
}

/* Attaches the backend data to a new handle for private key object priv. */
static int
key_attach(struct hsm_key *k, CK_OBJECT_HANDLE priv, unsigned epoch,
    struct cm_err *err)
{
	struct p11_key	*pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return cm_err_set(err, CM_ENOMEM, k->id, "out of memory");
	pk->priv = priv;
	pk->epoch = epoch;
	k->impl = pk;
	return 0;
}

int
hsm__p11_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	struct p11_state	*st = h->impl;
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE			 f4[] = { 0x01, 0x00, 0x01 };
	CK_ULONG		 bits = 2048;
	CK_MECHANISM		 mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG		 llen = label != NULL ? strlen(label) : 0;
	CK_ATTRIBUTE		 pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, f4, sizeof(f4) },
		{ CKA_LABEL, (void *)label, llen },
	}, privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, llen },
	};
	CK_OBJECT_HANDLE	 pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_ATTRIBUTE		 ida = { CKA_ID, NULL, HSM_KEY_ID_LEN / 2 };
	uint8_t			 raw[HSM_KEY_ID_LEN / 2];
	struct p11_sess		 s;
	struct hsm_key		*k = NULL;
	EVP_PKEY		*pk = NULL;
	CK_RV			 rv = CKR_OK;

	if (hsm__p11_sess_get(st, &s, err) == -1)
		return -1;
	rv = st->f->C_GenerateKeyPair(s.h, &mech, pubt, 8, privt, 8, &pub, &priv);
	if (rv != CKR_OK) {
		hsm__p11_fail(st, err, "C_GenerateKeyPair", rv);
		goto fail;
	}
	if ((pk = read_pub(st, s.h, pub, &rv, err)) == NULL ||
	    (k = hsm__key_new(h, pk, err)) == NULL)
		goto fail;
	/* The id is known only now: set it on both halves. */
	cm_hex_decode(k->id, raw, sizeof(raw));
	ida.pValue = raw;
	if ((rv = st->f->C_SetAttributeValue(s.h, pub, &ida, 1)) != CKR_OK ||
	    (rv = st->f->C_SetAttributeValue(s.h, priv, &ida, 1)) != CKR_OK) {
		hsm__p11_fail(st, err, "C_SetAttributeValue(CKA_ID)", rv);
		goto fail;
	}
	if (key_attach(k, priv, s.epoch, err) == -1)
		goto fail;
	hsm__p11_cache_put(&st->cache, k->id, s.epoch, priv);
	hsm__p11_sess_put(st, &s, CKR_OK);
	EVP_PKEY_free(pk);
	cm_info("%s: created key %s (%s)", st->name, k->id,
	    label != NULL ? label : "no label");
	*out = k;
	return 0;
fail:
	/* Leave no half-made key on the token. */
	if (priv != CK_INVALID_HANDLE)
		st->f->C_DestroyObject(s.h, priv);
	if (pub != CK_INVALID_HANDLE)
		st->f->C_DestroyObject(s.h, pub);
	hsm__p11_sess_put(st, &s, rv);
	hsm_key_free(k);
	EVP_PKEY_free(pk);
	return cm_err_wrap(err, label != NULL ? label : "new key");
}

/*
 * A new handle for id from private key object priv in session s: reads its
 * public key and checks that it is the key of that id.  cached: priv comes
 * from the cache, so check that it is (still) a private key object first.
 */
static int
key_load(struct hsm *h, struct p11_sess *s, const char *id,
    CK_OBJECT_HANDLE priv, int cached, struct hsm_key **out, CK_RV *rvp,
    struct cm_err *err)
{
	struct p11_state	*st = h->impl;
	CK_OBJECT_CLASS		 cls = 0;
	CK_ATTRIBUTE		 a = { CKA_CLASS, &cls, sizeof(cls) };
	struct hsm_key		*k = NULL;
	EVP_PKEY		*pk = NULL;
	int			 rc = -1;

	if (cached) {
		if ((*rvp = st->f->C_GetAttributeValue(s->h, priv, &a, 1)) !=
		    CKR_OK)
			return hsm__p11_fail(st, err, "C_GetAttributeValue", *rvp);
		if (cls != CKO_PRIVATE_KEY)
			return cm_err_set(err, CM_ENOTFOUND, id, "%s: the cached "
			    "handle is no longer a private key", st->name);
	}
	if ((pk = read_pub(st, s->h, priv, rvp, err)) == NULL ||
	    (k = hsm__key_new(h, pk, err)) == NULL)
		goto out;
	if (strcmp(k->id, id) != 0) {
		cm_err_set(err, CM_ECRYPTO, id, "%s: the key with this CKA_ID "
		    "has another public key (id %s)", st->name, k->id);
		goto out;
	}
	if (key_attach(k, priv, s->epoch, err) == -1)
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	hsm_key_free(k);
	EVP_PKEY_free(pk);
	return rc;
}

int
hsm__p11_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	struct p11_state	*st = h->impl;
	struct p11_sess		 s;
	struct cm_err		 cerr;
	CK_OBJECT_HANDLE	 priv;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1;

	if (hsm__p11_sess_get(st, &s, err) == -1)
		return -1;
	if (hsm__p11_cache_get(&st->cache, id, s.epoch, &priv)) {
		if (key_load(h, &s, id, priv, 1, out, &rv, &cerr) == 0) {
			rc = 0;
			goto out;
		}
		/* The token or the session went away: the caller retries. */
		if (hsm__p11_rv_gone(rv)) {
			*err = cerr;
			goto out;
		}
		/*
		 * Destroyed (perhaps by another process) or renumbered: the
		 * handle is refused or names something else.  Search.
		 */
		cm_debug("%s: cached handle of key %s: %s; searching the token",
		    st->name, id, cerr.msg);
		hsm__p11_cache_drop(&st->cache, id, 1);
		rv = CKR_OK;
	}
	if (find_obj(st, s.h, CKO_PRIVATE_KEY, id, &priv, &rv, err) == -1 ||
	    key_load(h, &s, id, priv, 0, out, &rv, err) == -1)
		goto out;
	hsm__p11_cache_put(&st->cache, id, s.epoch, priv);
	rc = 0;
out:
	hsm__p11_sess_put(st, &s, rv);
	return rc;
}

int
hsm__p11_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	struct p11_state	*st = k->hsm->impl;
	struct p11_sess		 s;
	CK_OBJECT_HANDLE	 priv, pub;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1, havepub;

	if (hsm__p11_sess_get(st, &s, err) == -1)
		return -1;
	if (find_obj(st, s.h, CKO_PRIVATE_KEY, k->id, &priv, &rv, err) == -1)
		goto out;
	/* A missing public half is not an error: the private one matters. */
	havepub = find_obj(st, s.h, CKO_PUBLIC_KEY, k->id, &pub, &rv, NULL) == 0;
	if (hsm__p11_rv_gone(rv)) {
		hsm__p11_fail(st, err, "C_FindObjects", rv);
		goto out;
	}
	/* Whatever happens next, the handle may be gone. */
	hsm__p11_cache_drop(&st->cache, k->id, 0);
	if ((rv = st->f->C_DestroyObject(s.h, priv)) != CKR_OK ||
	    (havepub && (rv = st->f->C_DestroyObject(s.h, pub)) != CKR_OK)) {
		hsm__p11_fail(st, err, "C_DestroyObject", rv);
		goto out;
	}
	cm_info("%s: destroyed key %s", st->name, k->id);
	rc = 0;
out:
	hsm__p11_sess_put(st, &s, rv);
	return rc;
}

/* The private key object of k valid in session s, looked up again if stale. */
static int
key_object(struct p11_state *st, struct hsm_key *k, struct p11_sess *s,
    CK_OBJECT_HANDLE *out, CK_RV *rvp, struct cm_err *err)
{
	struct p11_key	*pk = k->impl;
	CK_OBJECT_HANDLE o;
	int			 fresh;

	pthread_mutex_lock(&st->mtx);
	fresh = pk->epoch == s->epoch && !pk->stale;
	o = pk->priv;
	pthread_mutex_unlock(&st->mtx);
	if (!fresh) {
		if (find_obj(st, s->h, CKO_PRIVATE_KEY, k->id, &o, rvp, err) == -1)
			return -1;
		pthread_mutex_lock(&st->mtx);
		pk->priv = o;
		pk->epoch = s->epoch;
		pk->stale = 0;
		pthread_mutex_unlock(&st->mtx);
		hsm__p11_cache_put(&st->cache, k->id, s->epoch, o);
	}
	*out = o;
	return 0;
}

/* DER DigestInfo { sha256, NULL, digest } (RFC 8017 §9.2) into di[51]. */
static int
digest_info(const uint8_t digest[32], uint8_t *di, size_t *dilen,
    struct cm_err *err)
{
	X509_SIG	*sig = X509_SIG_new();
	X509_ALGOR	*alg;
	ASN1_OCTET_STRING *os;
	unsigned char	*p = NULL;
	int		 n = -1;

	if (sig != NULL) {
		X509_SIG_getm(sig, &alg, &os);
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL,
		    NULL) && ASN1_OCTET_STRING_set(os, digest, 32))
			n = i2d_X509_SIG(sig, &p);
	}
	X509_SIG_free(sig);
	if (n != 51) {
		OPENSSL_free(p);
		return cm_err_ssl(err, NULL, "cannot encode DigestInfo");
	}
	memcpy(di, p, 51);
	*dilen = 51;
	OPENSSL_free(p);
	return 0;
}

int
hsm__p11_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	struct p11_state	*st = k->hsm->impl;
	CK_MECHANISM		 mech = { CKM_RSA_PKCS, NULL, 0 };
	struct p11_sess		 s;
	CK_OBJECT_HANDLE	 o;
	uint8_t			 di[51];
	size_t			 dilen;
	CK_ULONG		 len = HSM_SIG_MAX;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1;

	if (digest_info(digest, di, &dilen, err) == -1 ||
	    hsm__p11_sess_get(st, &s, err) == -1)
		return -1;
	if (key_object(st, k, &s, &o, &rv, err) == -1)
		goto out;
	if ((rv = st->f->C_SignInit(s.h, &mech, o)) != CKR_OK) {
		/* The object is gone or renumbered: look it up next time. */
		if (rv == CKR_KEY_HANDLE_INVALID ||
		    rv == CKR_OBJECT_HANDLE_INVALID) {
			pthread_mutex_lock(&st->mtx);
			((struct p11_key *)k->impl)->stale = 1;
			pthread_mutex_unlock(&st->mtx);
			hsm__p11_cache_drop(&st->cache, k->id, 1);
		}
		hsm__p11_fail(st, err, "C_SignInit", rv);
		goto out;
	}
	if ((rv = st->f->C_Sign(s.h, di, dilen, sig, &len)) != CKR_OK) {
		hsm__p11_fail(st, err, "C_Sign", rv);
		goto out;
	}
	*siglen = len;
	rc = 0;
out:
	hsm__p11_sess_put(st, &s, rv);
	if (rc == -1)
		cm_err_wrap(err, k->id);
	return rc;
}

void
hsm__p11_key_release(struct hsm_key *k)
{
	free(k->impl);
	k->impl = NULL;
}

